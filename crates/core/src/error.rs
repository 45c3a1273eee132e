//! Errors at the boundary between the core and its front ends.
//!
//! Each integration has its own error enum with the facts needed to act on
//! it ([`crate::config::ConfigError`], [`crate::engine::EngineError`], ...).
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
    /// A service (GitHub, CircleCI, a registry) could not be reached or answered oddly.
    ServiceUnavailable,
}

impl ErrorCode {
    /// Whether the problem lies in what the user gave us (config, usage)
    /// rather than in the environment (engine, ports, disk).
    pub fn is_bad_input(self) -> bool {
        matches!(self, ErrorCode::BadConfig | ErrorCode::AuthRejected)
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
    /// What the user can do next, when we know.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hint: Option<String>,
}

impl Problem {
    /// A problem with a message and no hint.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Problem {
            code,
            message: message.into(),
            hint: None,
        }
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
