//! An engine reached over SSH, as the docker CLI reaches it: the user's own
//! `ssh` (their `~/.ssh/config`, keys and agent) runs `docker system
//! dial-stdio` on the remote host, and the engine's API is spoken over that
//! process's stdin and stdout, one process per connection.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Where to log in: `ssh://[user@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl Target {
    /// Reads `ssh://[user@]host[:port][/]`.
    pub fn parse(url: &str) -> Option<Self> {
        let rest = url.strip_prefix("ssh://")?.trim_end_matches('/');
        let (user, rest) = match rest.rsplit_once('@') {
            Some((user, rest)) => (Some(user.to_string()), rest),
            None => (None, rest),
        };
        // `[::1]:22` names an IPv6 host; otherwise a last `:` starts the port.
        let (host, port) = match rest.strip_prefix('[') {
            Some(bracketed) => {
                let (host, after) = bracketed.split_once(']')?;
                match after.strip_prefix(':') {
                    Some(port) => (host, Some(port.parse().ok()?)),
                    None => (host, None),
                }
            }
            None => match rest.rsplit_once(':') {
                Some((host, port)) => (host, Some(port.parse().ok()?)),
                None => (rest, None),
            },
        };
        (!host.is_empty()).then(|| Target {
            user,
            host: host.to_string(),
            port,
        })
    }

    /// `ssh` with this target and `command`, never prompting.
    pub fn command(&self, command: &[&str]) -> Command {
        let mut ssh = Command::new("ssh");
        ssh.args(["-o", "BatchMode=yes"]);
        if let Some(port) = self.port {
            ssh.arg("-p").arg(port.to_string());
        }
        if let Some(user) = &self.user {
            ssh.arg("-l").arg(user);
        }
        ssh.arg("--").arg(&self.host).args(command);
        ssh
    }

    /// Why `ssh` cannot log in, in its own words (for an engine that does
    /// not answer); `None` when it can.
    pub async fn login_problem(&self) -> Option<String> {
        let out = self
            .command(&["true"])
            .stdin(std::process::Stdio::null())
            .output()
            .await;
        match out {
            Err(e) => Some(format!("cannot run ssh: {e}")),
            Ok(out) if out.status.success() => None,
            Ok(out) => Some(
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .rfind(|l| !l.trim().is_empty())
                    .unwrap_or("ssh failed")
                    .trim()
                    .to_string(),
            ),
        }
    }
}

/// Opens connections to the engine: each is a `docker system dial-stdio`.
#[derive(Debug, Clone)]
pub struct Connector {
    pub target: Target,
}

impl tower_service::Service<http::Uri> for Connector {
    type Response = TokioIo<Pipe>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Uri) -> Self::Future {
        let target = self.target.clone();
        Box::pin(async move {
            let mut child = target
                .command(&["docker", "system", "dial-stdio"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true)
                .spawn()?;
            let stdin = child
                .stdin
                .take()
                .ok_or_else(|| std::io::Error::other("no stdin"))?;
            let stdout = child
                .stdout
                .take()
                .ok_or_else(|| std::io::Error::other("no stdout"))?;
            Ok(TokioIo::new(Pipe {
                _child: child,
                stdin,
                stdout,
            }))
        })
    }
}

/// One `dial-stdio` process, read and written as a connection.
#[derive(Debug)]
pub struct Pipe {
    _child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
}

impl AsyncRead for Pipe {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stdout).poll_read(cx, buf)
    }
}

impl AsyncWrite for Pipe {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stdin).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stdin).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stdin).poll_shutdown(cx)
    }
}

impl Connection for Pipe {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn targets_are_read_like_the_docker_cli() {
        let t = Target::parse("ssh://root@127.0.0.1:2222").unwrap();
        assert_eq!(
            (t.user.as_deref(), t.host.as_str(), t.port),
            (Some("root"), "127.0.0.1", Some(2222))
        );
        let t = Target::parse("ssh://builder").unwrap();
        assert_eq!((t.user, t.host.as_str(), t.port), (None, "builder", None));
        let t = Target::parse("ssh://me@[::1]:22/").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", Some(22)));
        assert!(Target::parse("ssh://").is_none());
        assert!(Target::parse("ssh://host:notaport").is_none());
        assert!(Target::parse("tcp://host").is_none());
    }
}
