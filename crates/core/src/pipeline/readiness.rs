//! The readiness step: probe the service until it answers, with a short
//! first interval that backs off to the configured one, so a service is
//! seen within a few tens of milliseconds of becoming ready.

use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;

use super::{Runner, StepEnd, container};
use crate::config::{HttpTarget, Probe, Readiness};
use crate::event::{Event, LogStream};
use crate::{ErrorCode, Problem};

/// The first wait between attempts; it doubles up to the configured interval.
const FIRST_INTERVAL: Duration = Duration::from_millis(5);
/// Longest a single attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a TCP connection must stay open to count: a proxy in front of
/// a port nobody listens on yet accepts, then closes at once.
const TCP_SETTLE: Duration = Duration::from_millis(30);
/// Container log lines shown when the service never became ready.
const LAST_LINES: usize = 20;

/// Where and how a probe is sent, resolved against the running container.
#[derive(Debug, Clone)]
pub enum ProbeTarget {
    /// GET this URL, accept these statuses.
    Http {
        /// The URL.
        url: String,
        /// Accepted statuses.
        status: crate::config::StatusRange,
    },
    /// Connect to this address.
    Tcp {
        /// `host:port`.
        addr: String,
    },
}

impl ProbeTarget {
    fn describe(&self) -> String {
        match self {
            ProbeTarget::Http { url, .. } => format!("GET {url}"),
            ProbeTarget::Tcp { addr } => format!("TCP {addr}"),
        }
    }
}

/// The result of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The service is ready.
    Ready,
    /// Not yet, and why (for the last-attempt message).
    NotYet(String),
}

/// Sends probes to one target.
#[derive(Debug, Clone)]
pub struct ReadinessProbe {
    target: ProbeTarget,
    client: reqwest::Client,
}

impl ReadinessProbe {
    /// A probe for `target`.
    pub fn new(target: ProbeTarget) -> Self {
        let client = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(0)
            .timeout(ATTEMPT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        ReadinessProbe { target, client }
    }

    /// Tries once.
    pub async fn attempt(&self) -> Attempt {
        match &self.target {
            ProbeTarget::Http { url, status } => match self.client.get(url).send().await {
                Ok(resp) if status.contains(resp.status().as_u16()) => Attempt::Ready,
                Ok(resp) => Attempt::NotYet(format!("answered HTTP {}", resp.status().as_u16())),
                Err(e) => Attempt::NotYet(crate::error::root_cause(&e)),
            },
            ProbeTarget::Tcp { addr } => {
                let connect = tokio::time::timeout(
                    ATTEMPT_TIMEOUT,
                    tokio::net::TcpStream::connect(addr.as_str()),
                );
                let mut stream = match connect.await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => return Attempt::NotYet(e.to_string()),
                    Err(_) => return Attempt::NotYet("connect timed out".into()),
                };
                let mut byte = [0u8; 1];
                match tokio::time::timeout(TCP_SETTLE, stream.read(&mut byte)).await {
                    Err(_) | Ok(Ok(1..)) => Attempt::Ready,
                    Ok(Ok(0)) => Attempt::NotYet("connection closed at once".into()),
                    Ok(Err(e)) => Attempt::NotYet(e.to_string()),
                }
            }
        }
    }

    /// Probes until ready or until `timeout`, waiting `FIRST_INTERVAL` at
    /// first and doubling up to `interval`. Returns the last reason on timeout.
    pub async fn wait(&self, timeout: Duration, interval: Duration) -> Result<Duration, String> {
        let began = Instant::now();
        let deadline = began + timeout;
        let mut wait = FIRST_INTERVAL.min(interval);
        loop {
            let last = match self.attempt().await {
                Attempt::Ready => return Ok(began.elapsed()),
                Attempt::NotYet(why) => why,
            };
            let now = Instant::now();
            if now >= deadline {
                return Err(last);
            }
            tokio::time::sleep(wait.min(deadline - now)).await;
            wait = (wait * 2).min(interval);
        }
    }
}

pub(super) async fn run(runner: &mut Runner, step: usize, ready: &Readiness) -> StepEnd {
    let Some(service) = runner.service.clone() else {
        return StepEnd::Error(Problem::new(
            ErrorCode::DockerError,
            "no running container to probe",
        ));
    };
    let target = match resolve(runner, ready, &service.ports) {
        Ok(t) => t,
        Err(problem) => {
            // An exited container has no published ports: report the exit,
            // which is the real cause.
            return match exit_code_now(runner, &service.id).await {
                Some(code) => exited_early(runner, &service.id, code).await,
                None => StepEnd::Error(problem),
            };
        }
    };
    let probe = ReadinessProbe::new(target.clone());
    runner
        .log(
            step,
            LogStream::Stdout,
            format!(
                "waiting for {} (timeout {})",
                target.describe(),
                crate::duration::display(ready.timeout)
            ),
        )
        .await;

    let mut exited = service.exited.clone();
    let exit = async move {
        let code = exited
            .wait_for(|code| code.is_some())
            .await
            .map(|code| *code);
        match code {
            Ok(code) => code,
            // The watcher stopped without a code: never resolve.
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        result = probe.wait(ready.timeout, ready.interval) => match result {
            Ok(after) => {
                runner.log(step, LogStream::Stdout, format!("ready after {}", crate::duration::display(after))).await;
                StepEnd::Passed { exit_code: None }
            }
            Err(last) => {
                let logs = container::last_logs(&runner.engine, &service.id, LAST_LINES).await;
                let mut message = format!(
                    "not ready after {}: {} ({last})",
                    crate::duration::display(ready.timeout),
                    target.describe()
                );
                if !logs.is_empty() {
                    message.push_str("\nlast container output:\n");
                    message.push_str(&logs);
                }
                StepEnd::Failed { message, exit_code: None }
            }
        },
        code = exit => {
            let code = code.unwrap_or_default();
            runner.emit(Event::Log { step, stream: LogStream::Stderr, line: format!("container exited with code {code}") }).await;
            exited_early(runner, &service.id, code).await
        }
    }
}

/// The container's exit code if it is no longer running.
async fn exit_code_now(runner: &Runner, id: &str) -> Option<i64> {
    let info = runner
        .engine
        .docker()
        .inspect_container(id, None)
        .await
        .ok()?;
    let state = info.state?;
    if state.running == Some(true) {
        None
    } else {
        Some(state.exit_code.unwrap_or_default())
    }
}

/// The failure of a container that exited before it was ready.
async fn exited_early(runner: &Runner, id: &str, code: i64) -> StepEnd {
    let logs = container::last_logs(&runner.engine, id, LAST_LINES).await;
    let mut message = format!("the container exited with code {code} before it was ready");
    if !logs.is_empty() {
        message.push_str("\nlast container output:\n");
        message.push_str(&logs);
    }
    StepEnd::Failed {
        message,
        exit_code: Some(code),
    }
}

fn resolve(
    runner: &Runner,
    ready: &Readiness,
    ports: &[crate::event::PublishedPort],
) -> Result<ProbeTarget, Problem> {
    let host_port = |container_port: u16| {
        ports
            .iter()
            .find(|p| p.container_port == container_port)
            .map(|p| (runner.engine.published_host(&p.host_ip), p.host_port))
            .ok_or_else(|| {
                Problem::new(
                    ErrorCode::BadConfig,
                    format!("container port {container_port} is not published"),
                )
                .with_hint("Publish it under [run] ports in slipway.toml.")
            })
    };
    Ok(match &ready.probe {
        Probe::Http {
            target: HttpTarget::Url { url },
            status,
        } => ProbeTarget::Http {
            url: url.clone(),
            status: *status,
        },
        Probe::Http {
            target:
                HttpTarget::Path {
                    container_port,
                    path,
                },
            status,
        } => {
            let (host, port) = host_port(*container_port)?;
            ProbeTarget::Http {
                url: format!("http://{host}:{port}{path}"),
                status: *status,
            }
        }
        Probe::Tcp { container_port } => {
            let (host, port) = host_port(*container_port)?;
            ProbeTarget::Tcp {
                addr: format!("{host}:{port}"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn http_probe_sees_a_late_server_quickly() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let probe = ReadinessProbe::new(ProbeTarget::Http {
            url: format!("http://127.0.0.1:{port}/"),
            status: crate::config::StatusRange::SUCCESS,
        });
        let server = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .unwrap();
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            use tokio::io::AsyncWriteExt;
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await
                .unwrap();
        });
        let took = probe
            .wait(Duration::from_secs(5), Duration::from_millis(50))
            .await
            .unwrap();
        assert!(took >= Duration::from_millis(300), "{took:?}");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn http_probe_times_out_with_the_last_reason() {
        let probe = ReadinessProbe::new(ProbeTarget::Http {
            url: "http://127.0.0.1:1/".into(),
            status: crate::config::StatusRange::SUCCESS,
        });
        let err = probe
            .wait(Duration::from_millis(100), Duration::from_millis(20))
            .await
            .unwrap_err();
        assert!(err.to_lowercase().contains("refused"), "{err}");
    }

    #[tokio::test]
    async fn tcp_probe_rejects_a_connection_closed_at_once() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            drop(s);
            let (_kept, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
        });
        let probe = ReadinessProbe::new(ProbeTarget::Tcp { addr });
        assert!(matches!(probe.attempt().await, Attempt::NotYet(_)));
        assert_eq!(probe.attempt().await, Attempt::Ready);
    }
}
