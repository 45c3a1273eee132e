//! Slipway's headless core: the local pipeline engine.
//!
//! It owns the pipeline file ([`config`]), the build context ([`context`],
//! [`dockerignore`]), the Docker engine connection ([`engine`]), a pipeline
//! run and its typed [`event`]s ([`pipeline`]), and run [`history`]. Front
//! ends (the `slipway` CLI, the desktop app) render events and call these
//! functions; this crate never depends on a UI toolkit and never prints.

pub mod config;
pub mod duration;
mod error;

pub use error::{ErrorCode, Problem};
pub mod accounts;
pub mod context;
pub mod dockerignore;
pub mod engine;
pub mod event;
pub mod git;
pub mod history;
pub mod livelog;
pub mod pipeline;
pub mod project;
pub mod secrets;
