//! End-to-end tests of the pipeline engine and the `slipway` CLI against a
//! real Docker engine. Run them with scripts/test, which starts the engine
//! (with a TLS listener) and builds the CLI first.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod cancel;
mod cli;
mod deploy;
mod dockerignore;
mod engine;
mod github;
mod import;
mod lifecycle;
mod pipeline;
mod pr;
mod push;
mod services;
mod setup;
mod workflow;
