//! The signed-in GitHub account serving git: the answers of a credential
//! helper (the protocol `git credential` speaks on standard input and
//! output) and git's configuration to use it. The token goes to git
//! through the helper's output only: never in arguments, URLs or config.

use std::path::Path;

use super::{AccountError, AccountKind, AccountStore, secret_id};
use crate::secrets::Secret;
use crate::{ErrorCode, Problem};

/// What git asks a credential helper (`protocol=https`, `host=…` lines).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialAsk {
    /// `https` or `http`.
    pub protocol: String,
    /// The host, with its port when the URL has one.
    pub host: String,
}

impl CredentialAsk {
    /// Reads git's `key=value` lines, up to a blank line or the end.
    pub fn parse(text: &str) -> Self {
        let mut ask = CredentialAsk::default();
        for line in text.lines() {
            if line.is_empty() {
                break;
            }
            match line.split_once('=') {
                Some(("protocol", value)) => ask.protocol = value.to_string(),
                Some(("host", value)) => ask.host = value.to_ascii_lowercase(),
                _ => {}
            }
        }
        ask
    }

    /// Whether a token may go over this: https, or http to this machine.
    fn safe(&self) -> bool {
        match self.protocol.as_str() {
            "https" => true,
            "http" => {
                let name = host_name(&self.host);
                name == "localhost"
                    || name
                        .trim_matches(['[', ']'])
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
            _ => false,
        }
    }
}

/// A host without its port.
fn host_name(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

/// What the helper answers git: a user and the token as its password.
#[derive(Debug)]
pub struct GitCredential {
    /// The account's login.
    pub username: String,
    /// The token.
    pub password: Secret,
}

impl GitCredential {
    /// The lines git reads back.
    pub fn to_git(&self) -> String {
        format!(
            "username={}\npassword={}\n",
            self.username,
            self.password.expose()
        )
    }
}

/// The URL prefixes (`https://github.com`) git should ask Slipway about for
/// an account on `host` validated against `api_url`: its host, and the
/// API's own host when that is another one (an Enterprise or test set-up).
pub fn git_urls(host: &str, api_url: Option<&str>) -> Vec<String> {
    let mut urls = vec![format!("https://{host}")];
    if let Some(api) = api_url.and_then(|a| reqwest::Url::parse(a).ok())
        && let Some(name) = api.host_str()
        && name != host
        && name != format!("api.{host}")
    {
        let port = api.port().map(|p| format!(":{p}")).unwrap_or_default();
        urls.push(format!("{}://{name}{port}", api.scheme()));
    }
    urls
}

impl AccountStore {
    /// The credential for what git asks, when a GitHub account signed in
    /// to Slipway serves that host; `None` lets git ask its other helpers.
    pub async fn git_credential(
        &self,
        ask: &CredentialAsk,
    ) -> Result<Option<GitCredential>, AccountError> {
        if !ask.safe() {
            return Ok(None);
        }
        let file = self.load()?;
        let Some(account) = file.accounts.iter().find(|a| {
            a.kind == AccountKind::Github
                && git_urls(&a.host, a.api_url.as_deref())
                    .iter()
                    .any(|url| url == &format!("{}://{}", ask.protocol, ask.host))
        }) else {
            return Ok(None);
        };
        let password = self
            .secrets
            .get(secret_id(AccountKind::Github, &account.host))
            .await?;
        Ok(Some(GitCredential {
            username: account.user.clone(),
            password,
        }))
    }

    /// The URL prefixes git asks Slipway about for the GitHub account on
    /// `host`; empty when there is no such account.
    pub fn github_git_urls(&self, host: &str) -> Vec<String> {
        self.load()
            .ok()
            .and_then(|file| {
                file.accounts
                    .into_iter()
                    .find(|a| a.kind == AccountKind::Github && a.host == host)
            })
            .map(|a| git_urls(&a.host, a.api_url.as_deref()))
            .unwrap_or_default()
    }
}

/// The helper line git runs: `!'PROGRAM' git-credential`.
pub fn helper_line(program: &Path) -> String {
    let quoted = program.display().to_string().replace('\'', r"'\''");
    format!("!'{quoted}' git-credential")
}

/// Whether the user's git config asks `program` for `url`'s credentials.
pub async fn is_set_up(url: &str, program: &Path) -> bool {
    let key = format!("credential.{url}.helper");
    let output = tokio::process::Command::new("git")
        .args(["config", "--global", "--get-all", &key])
        .stdin(std::process::Stdio::null())
        .output()
        .await;
    output.is_ok_and(|o| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .any(|l| l == helper_line(program))
    })
}

/// The URLs of the GitHub account on `host` that git does not yet ask
/// `program` about.
pub async fn unserved(store: &AccountStore, host: &str, program: &Path) -> Vec<String> {
    let mut missing = Vec::new();
    for url in store.github_git_urls(host) {
        if !is_set_up(&url, program).await {
            missing.push(url);
        }
    }
    missing
}

/// Makes git ask `program` for the credentials of the GitHub account on
/// `host` wherever it does not yet; the URLs set up now.
pub async fn serve(
    store: &AccountStore,
    host: &str,
    program: &Path,
) -> Result<Vec<String>, Problem> {
    if store.github_git_urls(host).is_empty() {
        return Err(Problem::new(
            ErrorCode::NotFound,
            format!("no GitHub account is signed in for {host}"),
        )
        .with_remedy(crate::error::Remedy::sign_in(
            crate::error::Service::Github,
            (host != crate::github::GITHUB_HOST).then_some(host),
        )));
    }
    let missing = unserved(store, host, program).await;
    for url in &missing {
        set_up(url, program).await?;
    }
    Ok(missing)
}

/// Makes git ask `program` (the `slipway` CLI) for `url`'s credentials, in
/// the user's global config, in place of other helpers for that URL.
pub async fn set_up(url: &str, program: &Path) -> Result<(), Problem> {
    let key = format!("credential.{url}.helper");
    // An empty value first clears the helpers inherited for this URL.
    for args in [
        vec!["config", "--global", "--replace-all", &key, ""],
        vec!["config", "--global", "--add", &key, &helper_line(program)],
    ] {
        let output = tokio::process::Command::new("git")
            .args(&args)
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(|e| {
                Problem::new(ErrorCode::Io, format!("cannot run git: {e}"))
                    .with_hint("Install git and make sure it is on PATH.")
            })?;
        if !output.status.success() {
            return Err(Problem::new(
                ErrorCode::Io,
                format!(
                    "git could not set its credential helper for {url}: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            )
            .with_hint("Check that ~/.gitconfig is writable."));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_asks_are_read_up_to_the_blank_line() {
        let ask = CredentialAsk::parse("protocol=https\nhost=GitHub.com\npath=o/r.git\n\nhost=x\n");
        assert_eq!(ask.protocol, "https");
        assert_eq!(ask.host, "github.com");
    }

    #[test]
    fn a_token_goes_over_https_or_to_this_machine_only() {
        let ask = |protocol: &str, host: &str| CredentialAsk {
            protocol: protocol.into(),
            host: host.into(),
        };
        assert!(ask("https", "github.com").safe());
        assert!(ask("http", "127.0.0.1:8080").safe());
        assert!(ask("http", "localhost").safe());
        assert!(ask("http", "[::1]:80").safe());
        assert!(!ask("http", "github.com").safe());
        assert!(!ask("http", "127.0.0.1.evil.example").safe());
        assert!(!ask("ssh", "github.com").safe());
    }

    #[test]
    fn an_account_serves_its_host_and_a_custom_api_host() {
        assert_eq!(
            git_urls("github.com", Some("https://api.github.com")),
            ["https://github.com"]
        );
        assert_eq!(
            git_urls("ghe.example.com", Some("https://ghe.example.com/api/v3")),
            ["https://ghe.example.com"]
        );
        assert_eq!(
            git_urls("github.com", Some("http://127.0.0.1:4000/github")),
            ["https://github.com", "http://127.0.0.1:4000"]
        );
    }

    #[test]
    fn the_helper_line_quotes_the_program() {
        assert_eq!(
            helper_line(Path::new("/opt/it's/slipway")),
            r"!'/opt/it'\''s/slipway' git-credential"
        );
    }
}
