//! Importing a CircleCI config (`circle.yml`, CircleCI 1.0, or
//! `.circleci/config.yml`, 2.x) as a Slipway pipeline: its `docker build`
//! becomes the build, its `docker run` the run (on a free host port; a
//! trailing `sleep` dropped), its first `curl`/`wget` of the service the
//! readiness probe, every other command a host step, and its deployments
//! deploy triggers. The result is a commented `slipway.toml` that the usual
//! loader checks, so running an imported pipeline and running the saved
//! file are the same thing. Nothing is dropped silently: lines that cannot
//! be mapped are listed with their line and why.

mod circle1;
pub(crate) mod circle2;
pub mod commands;
mod render;
pub(crate) mod yaml;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{ConfigError, Pipeline, PipelineSource};

use render::render;

/// CircleCI 1.0's file, at the project's root.
pub const CIRCLE_V1: &str = "circle.yml";
/// CircleCI 2.x's file.
pub const CIRCLE_V2: &str = ".circleci/config.yml";

/// A line of the CI file and what became of it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// Line in the CI file (1-based).
    pub line: usize,
    /// The command or key, as written.
    pub text: String,
    /// Why it has no step of its own, or why it could not be mapped.
    pub why: String,
}

/// One command of the CI file, where it is, and what it runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CiCommand {
    pub text: String,
    pub line: usize,
    /// Its own environment (a 2.x step's `environment`).
    pub env: Vec<(String, String)>,
    /// Its working folder, relative to the project, when not the root.
    pub dir: Option<String>,
}

/// A deployment: the branch it runs for and its commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CiDeploy {
    pub name: String,
    pub branch: Option<String>,
    pub line: usize,
    pub commands: Vec<CiCommand>,
}

/// A CI file read into what Slipway maps.
#[derive(Debug, Clone, Default)]
pub(crate) struct CiConfig {
    pub version: &'static str,
    pub env: Vec<(String, String)>,
    pub commands: Vec<CiCommand>,
    pub deploys: Vec<CiDeploy>,
    /// Services: a job's secondary images.
    pub services: Vec<CiService>,
    /// Recognised keys and steps with no step of their own.
    pub skipped: Vec<Note>,
    /// What cannot be mapped.
    pub unmapped: Vec<Note>,
    /// How many jobs its workflow runs (CircleCI 2.x).
    pub jobs: usize,
}

/// A service a CI config runs beside its job (a secondary image).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CiService {
    pub name: String,
    pub image: String,
    pub env: Vec<(String, String)>,
    /// The port its well-known image listens on, when known.
    pub port: Option<u16>,
    pub line: usize,
}

impl CiService {
    /// A service for `image`, named after it (`circleci/postgres:9.6` is
    /// `postgres`), with the port its kind is known to listen on.
    pub(crate) fn of_image(image: &str, line: usize) -> Self {
        let base = image.rsplit('/').next().unwrap_or(image);
        let base = base.split([':', '@']).next().unwrap_or(base);
        let name: String = base
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let name = name.trim_matches('-').to_string();
        let port = match name.as_str() {
            "postgres" | "postgresql" | "postgis" => Some(5432),
            "mysql" | "mariadb" => Some(3306),
            "redis" => Some(6379),
            "mongo" | "mongodb" => Some(27017),
            "memcached" => Some(11211),
            "rabbitmq" => Some(5672),
            "elasticsearch" => Some(9200),
            _ => None,
        };
        CiService {
            name: if name.is_empty() {
                "service".into()
            } else {
                name
            },
            image: image.to_string(),
            env: Vec::new(),
            port,
            line,
        }
    }
}

/// An imported CI config.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Imported {
    /// The CI file.
    pub file: PathBuf,
    /// "CircleCI 1.0" or "CircleCI 2.x".
    pub version: String,
    /// The pipeline, as a commented `slipway.toml`.
    pub toml: String,
    /// Lines with no step of their own, and why (Slipway does it).
    pub skipped: Vec<Note>,
    /// Lines that could not be mapped, and why: keep them as host steps or
    /// remove them.
    pub unmapped: Vec<Note>,
    /// Secrets the deploy triggers need, with the command that sets each.
    pub secrets_to_set: Vec<String>,
    /// Why the config is better run by the workflow runner than as one
    /// pipeline (CircleCI 2.x with several jobs, or parts not imported).
    pub workflow_runner: Option<String>,
}

/// The CircleCI config of a project, if it has one (1.0 first, as
/// CircleCI read it).
pub fn find(root: &Path) -> Option<PathBuf> {
    [CIRCLE_V1, CIRCLE_V2]
        .iter()
        .map(|f| root.join(f))
        .find(|p| p.is_file())
}

/// Imports the project's CircleCI config; `None` when it has none.
pub fn import(root: &Path) -> Result<Option<Imported>, ConfigError> {
    let Some(file) = find(root) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&file)
        .map_err(|e| ConfigError::new(format!("cannot read {}: {e}", file.display())))?;
    let ci = if file.ends_with(CIRCLE_V1) {
        circle1::read(&file, &text)?
    } else {
        circle2::read(&file, &text)?
    };
    let project = crate::config::default_name(root);
    let rendered = render(root, &file, &project, &ci);
    let workflow_runner = (!file.ends_with(CIRCLE_V1))
        .then(|| {
            let mut why = Vec::new();
            if ci.jobs > 1 {
                why.push(format!("its workflow has {} jobs", ci.jobs));
            }
            if !rendered.unmapped.is_empty() {
                why.push(format!("{} of its lines are not imported", rendered.unmapped.len()));
            }
            (!why.is_empty()).then(|| {
                format!(
                    "{}: `slipway run` without a slipway.toml runs .circleci/config.yml as CircleCI does (jobs in their images, caches, workspaces, test results)",
                    why.join(" and ")
                )
            })
        })
        .flatten();
    Ok(Some(Imported {
        file,
        version: ci.version.to_string(),
        toml: rendered.toml,
        skipped: rendered.skipped,
        unmapped: rendered.unmapped,
        secrets_to_set: rendered.secrets_to_set,
        workflow_runner,
    }))
}

/// The pipeline an import describes, checked as `slipway.toml` would be.
pub fn pipeline(root: &Path, imported: &Imported) -> Result<Pipeline, ConfigError> {
    let mut pipeline =
        crate::config::parse_text(root, &imported.file, &imported.toml).map_err(|e| {
            ConfigError {
                // The text is Slipway's own; say where it came from.
                location: None,
                message: format!(
                    "the pipeline imported from {} is not valid: {}",
                    imported.file.display(),
                    e.message
                ),
                hint: Some("Run `slipway import --write` and fix slipway.toml by hand.".into()),
            }
        })?;
    pipeline.source = PipelineSource::Imported {
        path: imported.file.clone(),
    };
    Ok(pipeline)
}

#[cfg(test)]
mod tests;
