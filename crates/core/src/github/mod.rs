//! GitHub: which repository a project is ([`GithubRepo`], from its `origin`
//! remote), the API client built once per host and token ([`GithubClient`]),
//! a commit's checks folded into one state ([`checks`]), pull requests
//! ([`pulls`]), and what GitHub's answers mean ([`GithubError`]).
//!
//! This module never reads accounts: callers hand it the host, the API URL
//! and the token (see `accounts::AccountStore::github_client`).

mod auth;
pub mod checks;
mod client;
pub mod pulls;
pub mod reviews;
pub mod watch;

use serde::{Deserialize, Serialize};

use crate::{ErrorCode, Problem};

pub use auth::{User, authenticated_user, scope_warnings};
pub use client::{Fetched, GithubClient, RateBudget};

pub use crate::http::GITHUB_HOST;
/// Overrides the GitHub API base URL (tests, proxies, GitHub Enterprise).
pub const GITHUB_API_ENV: &str = "SLIPWAY_GITHUB_API_URL";
/// The token scopes the GitHub flow needs.
pub const GITHUB_SCOPES: [&str; 2] = ["repo", "workflow"];

/// The API base URL of a host when no setting names one.
pub fn default_api_url(host: &str) -> String {
    if host == GITHUB_HOST {
        "https://api.github.com".into()
    } else {
        format!("https://{host}/api/v3")
    }
}

/// `github.com`, `https://github.example.com/` → the bare, lower-case host;
/// `None` when it is not a host name.
pub fn normalize_host(host: &str) -> Option<String> {
    let trimmed = host.trim().trim_end_matches('/');
    let bare = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .unwrap_or(trimmed)
        .to_ascii_lowercase();
    let valid = !bare.is_empty()
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !valid {
        return None;
    }
    Some(
        if matches!(
            bare.as_str(),
            "api.github.com" | "www.github.com" | "ssh.github.com"
        ) {
            GITHUB_HOST.to_string()
        } else {
            bare
        },
    )
}

/// A repository on GitHub (or a GitHub Enterprise host).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GithubRepo {
    /// `github.com` or a GitHub Enterprise host.
    pub host: String,
    /// The user or organisation.
    pub owner: String,
    /// The repository's name, without `.git`.
    pub name: String,
}

impl GithubRepo {
    /// The repository a git remote URL names, when it is on one of
    /// `hosts` (github.com always counts). Reads the https, ssh and
    /// `git@host:owner/name` forms, with or without `.git`.
    pub fn from_remote(url: &str, hosts: &[String]) -> Option<Self> {
        let url = url.trim();
        let (authority, path) = match url.split_once("://") {
            Some((scheme, rest)) => {
                if !matches!(scheme, "https" | "http" | "ssh" | "git" | "git+ssh") {
                    return None;
                }
                rest.split_once('/')?
            }
            // scp-like: [user@]host:path, with no slash before the colon.
            None => {
                let (authority, path) = url.split_once(':')?;
                if authority.contains('/') {
                    return None;
                }
                (authority, path)
            }
        };
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = match host_port.rsplit_once(':') {
            Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
            _ => host_port,
        };
        let host = normalize_host(host)?;
        if host != GITHUB_HOST && !hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
            return None;
        }
        let path = path.trim_matches('/');
        let path = path.strip_suffix(".git").unwrap_or(path);
        let (owner, name) = path.split_once('/')?;
        let valid = |part: &str| {
            !part.is_empty()
                && !part.contains('/')
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if !valid(owner) || !valid(name) {
            return None;
        }
        Some(GithubRepo {
            host,
            owner: owner.to_string(),
            name: name.to_string(),
        })
    }

    /// `owner/name`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// The repository's page.
    pub fn web_url(&self) -> String {
        format!("https://{}/{}/{}", self.host, self.owner, self.name)
    }
}

impl std::fmt::Display for GithubRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.host, self.owner, self.name)
    }
}

/// What went wrong talking to GitHub.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// GitHub refused the token (401, or a 403 that is not a rate limit).
    #[error("GitHub rejected the credentials for {host}: {reason}")]
    Rejected {
        host: String,
        reason: String,
        hint: String,
    },
    /// The rate limit is spent; `reset` is when it refills (Unix seconds).
    /// `secondary`: GitHub's secondary limit (too much at once), which asks
    /// for a short wait, not the hourly one.
    #[error("GitHub's {} for {host} is spent ({detail})", if *.secondary { "secondary rate limit" } else { "rate limit" })]
    RateLimited {
        host: String,
        reset: Option<u64>,
        detail: String,
        secondary: bool,
    },
    /// A stored token no longer works (revoked or expired).
    #[error("GitHub no longer accepts your token for {host}: {reason}")]
    Expired { host: String, reason: String },
    /// The repository or resource is not there (or not visible to this token).
    #[error("GitHub has no {what} at {host} (or your token cannot see it)")]
    NotFound { what: String, host: String },
    /// GitHub refused what was asked (its validation failed).
    #[error("GitHub refused: {message}")]
    Invalid { message: String },
    /// GitHub could not be reached, or answered something unexpected.
    #[error("cannot reach GitHub at {url}: {detail}")]
    Unavailable {
        url: String,
        detail: String,
        hint: String,
    },
}

impl GithubError {
    /// The problem as a user sees it.
    pub fn problem(&self) -> Problem {
        let message = self.to_string();
        match self {
            GithubError::Rejected { hint, .. } => {
                Problem::new(ErrorCode::AuthRejected, message).with_hint(hint.clone())
            }
            GithubError::RateLimited {
                reset, secondary, ..
            } => {
                let hint = match (reset, secondary) {
                    (Some(at), true) => format!(
                        "GitHub asks to wait {}; try again then.",
                        crate::duration::roughly(std::time::Duration::from_secs(
                            at.saturating_sub(now_secs()).max(1)
                        ))
                    ),
                    (Some(at), false) => format!(
                        "GitHub's hourly limit resets at {} (in {}).",
                        crate::duration::clock_time(*at),
                        crate::duration::roughly(std::time::Duration::from_secs(
                            at.saturating_sub(now_secs()).max(1)
                        ))
                    ),
                    (None, _) => "Try again in a minute.".into(),
                };
                Problem::new(ErrorCode::RateLimited, message).with_hint(hint)
            }
            GithubError::Expired { host, .. } => Problem::new(ErrorCode::AuthExpired, message)
                .with_remedy(crate::Remedy::sign_in(
                    crate::Service::Github,
                    (host != GITHUB_HOST).then_some(host.as_str()),
                )),
            GithubError::NotFound { .. } => Problem::new(ErrorCode::NotFound, message).with_hint(
                "Check the repository's name in the origin remote, and that your token can read it.",
            ),
            GithubError::Invalid { .. } => Problem::new(ErrorCode::BadConfig, message),
            GithubError::Unavailable { hint, .. } => {
                Problem::new(ErrorCode::ServiceUnavailable, message).with_hint(hint.clone())
            }
        }
    }
}

impl GithubError {
    /// How long a rate limit asks to wait, from now.
    pub fn retry_in(&self) -> Option<std::time::Duration> {
        match self {
            GithubError::RateLimited {
                reset: Some(at), ..
            } => Some(std::time::Duration::from_secs(
                at.saturating_sub(now_secs()).max(1),
            )),
            _ => None,
        }
    }
}

/// Seconds since the Unix epoch.
fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl From<GithubError> for Problem {
    fn from(e: GithubError) -> Self {
        e.problem()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_normalized() {
        assert_eq!(normalize_host("github.com").as_deref(), Some("github.com"));
        assert_eq!(
            normalize_host("https://GitHub.example.com/").as_deref(),
            Some("github.example.com")
        );
        assert_eq!(
            normalize_host("api.github.com").as_deref(),
            Some("github.com")
        );
        assert_eq!(normalize_host("not a host"), None);
        assert_eq!(default_api_url("github.com"), "https://api.github.com");
        assert_eq!(
            default_api_url("ghe.example.com"),
            "https://ghe.example.com/api/v3"
        );
    }

    #[test]
    fn remotes_name_their_repository() {
        let ghe = vec!["ghe.example.com".to_string()];
        let repo = |owner: &str, name: &str| GithubRepo {
            host: GITHUB_HOST.into(),
            owner: owner.into(),
            name: name.into(),
        };
        for url in [
            "https://github.com/octo/app.git",
            "https://github.com/octo/app",
            "https://github.com/octo/app/",
            "https://bob@github.com/octo/app.git",
            "http://GitHub.com/octo/app.git",
            "ssh://git@github.com/octo/app.git",
            "ssh://git@ssh.github.com:443/octo/app.git",
            "git@github.com:octo/app.git",
            "github.com:octo/app",
            "git://github.com/octo/app.git",
        ] {
            assert_eq!(
                GithubRepo::from_remote(url, &[]),
                Some(repo("octo", "app")),
                "{url}"
            );
        }
        assert_eq!(
            GithubRepo::from_remote("git@ghe.example.com:team/svc.api.git", &ghe),
            Some(GithubRepo {
                host: "ghe.example.com".into(),
                owner: "team".into(),
                name: "svc.api".into()
            })
        );
        for url in [
            "git@ghe.example.com:team/svc.git",
            "https://gitlab.com/octo/app.git",
            "/srv/git/app.git",
            "file:///srv/git/app.git",
            "https://github.com/octo",
            "https://github.com/octo/app/tree/main",
            "",
        ] {
            assert_eq!(GithubRepo::from_remote(url, &[]), None, "{url}");
        }
        let r = repo("octo", "app");
        assert_eq!(r.full_name(), "octo/app");
        assert_eq!(r.web_url(), "https://github.com/octo/app");
    }

    #[test]
    fn rate_limits_say_when_to_retry() {
        let in_12_min = now_secs() + 12 * 60;
        let p = GithubError::RateLimited {
            host: "github.com".into(),
            reset: Some(in_12_min),
            detail: "API rate limit exceeded".into(),
            secondary: false,
        }
        .problem();
        assert_eq!(p.code, ErrorCode::RateLimited);
        let hint = p.hint.unwrap_or_default();
        assert!(
            hint.starts_with("GitHub's hourly limit resets at "),
            "{hint}"
        );
        assert!(hint.ends_with("(in 12 min)."), "{hint}");
        assert!(
            !hint.contains(&in_12_min.to_string()),
            "never a raw epoch: {hint}"
        );
        let p = GithubError::RateLimited {
            host: "github.com".into(),
            reset: Some(now_secs() + 3),
            detail: "You have exceeded a secondary rate limit".into(),
            secondary: true,
        }
        .problem();
        assert!(p.message.contains("secondary rate limit"), "{}", p.message);
        assert!(
            p.hint
                .unwrap_or_default()
                .starts_with("GitHub asks to wait")
        );
    }
}
