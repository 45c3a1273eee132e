//! Errors at the boundary between the core and its front ends.
//!
//! Each integration has its own error enum with the facts needed to act on
//! it (`ConfigError`, `EngineError`, `GithubError`, ...).
//! Front ends receive a [`Problem`]: a small [`ErrorCode`] they branch on, a
//! one-sentence message and a hint of what to do next.

use serde::{Deserialize, Serialize};

/// What kind of problem a front end is looking at. Add a variant only when
/// a front end treats it differently.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The pipeline file or a command-line argument is wrong.
    BadConfig,
    /// The Docker engine cannot be reached or refused the connection.
    DockerUnavailable,
    /// A host port the pipeline publishes is already taken.
    PortInUse,
    /// The engine answered with an error we did not expect.
    DockerError,
    /// The run history could not be read or written.
    History,
    /// Reading or writing a local file failed.
    Io,
    /// No keychain (Secret Service) to keep secrets in.
    KeychainUnavailable,
    /// The keychain is there but locked.
    KeychainLocked,
    /// A secret a step needs is not set.
    SecretMissing,
    /// A service (GitHub, CircleCI, a registry) rejected the credentials.
    AuthRejected,
    /// A service (GitHub, CircleCI, a registry) could not be reached or answered oddly:
    /// retry later.
    ServiceUnavailable,
    /// What was asked for does not exist (a run, a project, a repository).
    NotFound,
    /// It clashes with something in progress (the project is already running).
    Conflict,
    /// A stored login no longer works (revoked or expired token): sign in again.
    AuthExpired,
    /// A service's rate limit is spent: retry after the time in the hint.
    RateLimited,
    /// The local pipeline failed before a push, so nothing was pushed.
    PreflightFailed,
}

impl ErrorCode {
    /// Whether the problem lies in what the user gave us (config, usage)
    /// rather than in the environment (engine, ports, disk).
    pub fn is_bad_input(self) -> bool {
        matches!(
            self,
            ErrorCode::BadConfig
                | ErrorCode::PreflightFailed
                | ErrorCode::AuthRejected
                | ErrorCode::AuthExpired
                | ErrorCode::NotFound
        )
    }
}

/// A problem as a user sees it: what happened and what to do about it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The kind of problem, for front ends to branch on.
    pub code: ErrorCode,
    /// One sentence saying what went wrong.
    pub message: String,
    /// What the user can do next, when we know, in words any front end
    /// can show.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hint: Option<String>,
    /// The same as an action each front end words in its own terms (a
    /// command, a button).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub remedy: Option<Remedy>,
}

/// A service Slipway signs in to.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// GitHub or GitHub Enterprise.
    Github,
    /// An image registry.
    Registry,
    /// CircleCI.
    Circleci,
}

/// What to do about a problem, for each front end to word.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Remedy {
    /// Sign in (again) to a service.
    SignIn {
        /// The service.
        service: Service,
        /// Its host, when it is not the service's usual one.
        host: Option<String>,
        /// The user name to sign in as, when known.
        user: Option<String>,
    },
    /// Let git use the GitHub account signed in to Slipway for https.
    ServeGit {
        /// The GitHub host.
        host: String,
    },
}

impl Remedy {
    /// Signing in to `service` at `host` (`None`: its usual host).
    pub fn sign_in(service: Service, host: Option<&str>) -> Self {
        Remedy::SignIn {
            service,
            host: host.map(str::to_string),
            user: None,
        }
    }

    /// The remedy in words any front end can show.
    pub fn words(&self) -> String {
        match self {
            Remedy::SignIn { service, host, .. } => {
                let name = match service {
                    Service::Github => "GitHub",
                    Service::Registry => "the registry",
                    Service::Circleci => "CircleCI",
                };
                match host {
                    Some(host) if *service == Service::Registry => {
                        format!("Sign in to the registry {host}.")
                    }
                    Some(host) => format!("Sign in to {name} at {host}."),
                    None => format!("Sign in to {name}."),
                }
            }
            Remedy::ServeGit { host } => {
                format!("Let git push to {host} with the account signed in to Slipway.")
            }
        }
    }
}

impl Problem {
    /// A problem with a message and no hint.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Problem {
            code,
            message: message.into(),
            hint: None,
            remedy: None,
        }
    }

    /// Adds a remedy (and its words as the hint).
    pub fn with_remedy(mut self, remedy: Remedy) -> Self {
        self.hint = Some(remedy.words());
        self.remedy = Some(remedy);
        self
    }

    /// Adds a hint of what to do next.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

/// The innermost message of an error chain: "Connection refused" rather
/// than a stack of wrappers, without Rust's "(os error N)" suffix.
pub fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    let text = current.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_cause_is_the_innermost_message() {
        let io = std::io::Error::from_raw_os_error(111);
        let wrapped = std::io::Error::other(io);
        assert_eq!(root_cause(&wrapped), "Connection refused");
    }

    #[test]
    fn codes_say_who_must_act() {
        assert!(ErrorCode::NotFound.is_bad_input());
        assert!(ErrorCode::AuthExpired.is_bad_input());
        assert!(!ErrorCode::RateLimited.is_bad_input());
        assert!(!ErrorCode::Conflict.is_bad_input());
    }
}
