//! Slipway's headless core: the local pipeline engine and the services it
//! talks to. Front ends (the `slipway` CLI, the desktop app) call these
//! modules and render what they report; this crate never depends on a UI
//! toolkit and never prints.
//!
//! - [`config`]: the pipeline file (`slipway.toml`) or the pipeline inferred
//!   from the Dockerfile; [`duration`] reads and shows its durations.
//! - [`import`]: a CircleCI config (1.0 or 2.x) as a pipeline.
//! - [`context`] and [`dockerignore`]: the build context, as Docker sends it.
//! - [`engine`]: finding and connecting to the Docker engine.
//! - [`pipeline`]: one run (build, run, readiness, tests, cleanup) and its
//!   typed [`event`]s; [`livelog`] holds a run's log for a window.
//! - [`store`]: past runs and deploys in SQLite, and the writer that
//!   records a run.
//! - [`project`] and [`git`]: what a folder holds and its git state.
//! - [`github`]: the repository a project is on GitHub, the API client,
//!   checks and pull requests; [`flow`] joins them to a project folder:
//!   publishing, merging, merge when green and the one checks follower;
//!   [`followed`] owns the pull requests a window follows and the deploys
//!   after their merges.
//! - [`record`]: a run recorded in the history, as both front ends run it.
//! - [`doctor`]: what is wrong with the set-up, one check per part.
//! - [`push`]: the built image pushed to a registry under the project's tags.
//! - [`accounts`]: who the user is signed in as; [`secrets`]: the only door
//!   to the OS keychain.
//! - [`http`]: what the web service clients share.
//! - [`paths`]: the config and data folders, and atomic writes.
//! - [`logging`]: the log filter both front ends install.
//! - [`error`]: [`Problem`], what a front end shows, and its [`ErrorCode`].

/// The version Slipway is built as.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The commit Slipway is built from (`unknown` outside a git checkout).
pub const COMMIT: &str = env!("SLIPWAY_COMMIT");

pub mod accounts;
pub mod config;
pub mod context;
pub mod deploy;
pub mod dockerignore;
pub mod doctor;
pub mod duration;
pub mod engine;
pub mod error;
pub mod event;
pub mod flow;
pub mod followed;
pub mod git;
pub mod github;
pub mod http;
pub mod import;
pub mod livelog;
pub mod logging;
pub mod owner;
pub mod paths;
pub mod pipeline;
mod process_group;
pub mod project;
pub mod push;
pub mod radar;
pub mod record;
pub mod recover;
pub mod secrets;
pub mod store;
pub mod workflow;

pub use error::{ErrorCode, Problem, Remedy, Service};
