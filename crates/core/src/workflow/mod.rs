//! CircleCI 2.x/2.1 workflows run on this machine as CircleCI runs them:
//! the config expanded ([`config`]), the workflow for the branch chosen,
//! its jobs run in their images ([`run`]) with caches, workspaces, test
//! results and artifacts. It reports a pipeline run's events, so the
//! history, the CLI and the window show it as they show any run.

pub mod caches;
pub mod config;
mod files;
mod junit;
mod keys;
pub mod run;
mod tree;

pub use caches::CacheStore;
pub use config::{PipelineValues, Selection, WorkflowPlan, plan};
pub use run::{WorkflowRun, plan_info, plan_steps, start};

/// Where a project's CircleCI 2.x config is.
pub const CONFIG_PATH: &str = ".circleci/config.yml";

mod contexts;

use std::path::{Path, PathBuf};

pub use contexts::{forget_context_var, remember_context_var};

use crate::event::GitInfo;
use crate::{ErrorCode, Problem};

/// The CircleCI config a project runs as a workflow: `.circleci/config.yml`
/// when there is no `slipway.toml` to run instead.
pub fn config_of(root: &Path) -> Option<PathBuf> {
    let config = root.join(CONFIG_PATH);
    (config.is_file() && !root.join(crate::config::FILE_NAME).exists()).then_some(config)
}

/// The workflow a run of the project at `root` on `branch` would run, as
/// its config says it now (for a front end to show before the run).
pub fn preview(
    root: &Path,
    branch: Option<String>,
) -> Result<WorkflowPlan, crate::config::ConfigError> {
    let file = root.join(CONFIG_PATH);
    let text = std::fs::read_to_string(&file).map_err(|e| {
        crate::config::ConfigError::new(format!("cannot read {}: {e}", file.display()))
    })?;
    let values = PipelineValues {
        branch,
        ..PipelineValues::default()
    };
    plan(
        Path::new(CONFIG_PATH),
        &text,
        &values,
        &Selection::default(),
    )
}

/// A workflow run ready to start, and what to tell before it starts.
#[derive(Debug)]
pub struct Prepared {
    /// The run.
    pub run: WorkflowRun,
    /// The project's git state.
    pub git: Option<GitInfo>,
    /// Notes for the user (other workflows, skipped jobs, contexts).
    pub notes: Vec<String>,
}

/// Reads the project's CircleCI config and plans the run `select` asks
/// for, with contexts' variables from `secrets` (`None` leaves them out).
pub async fn prepare(
    root: &Path,
    select: &Selection,
    parameters: Vec<(String, String)>,
    secrets: Option<&crate::secrets::Secrets>,
) -> Result<Prepared, Problem> {
    let root = root.canonicalize().map_err(|e| {
        Problem::new(
            ErrorCode::BadConfig,
            format!("cannot open {}: {e}", root.display()),
        )
    })?;
    let file = root.join(CONFIG_PATH);
    let text = std::fs::read_to_string(&file).map_err(|e| {
        Problem::new(
            ErrorCode::BadConfig,
            format!("cannot read {}: {e}", file.display()),
        )
    })?;
    let git = crate::git::inspect(&root).await.ok();
    let git_url = crate::git::run(&root, &["remote", "get-url", "origin"])
        .await
        .unwrap_or_default();
    let values = PipelineValues {
        branch: git.as_ref().and_then(|g| g.branch.clone()),
        revision: git.as_ref().map(|g| g.commit.clone()).unwrap_or_default(),
        number: 1,
        git_url: git_url.trim().to_string(),
        parameters,
    };
    let shown = Path::new(CONFIG_PATH);
    let plan = plan(shown, &text, &values, select).map_err(|e| {
        // Errors name the file as the user knows it, from the project.
        e.problem()
    })?;
    let mut notes = plan.notes.clone();
    let wanted: std::collections::BTreeSet<String> = plan
        .jobs
        .iter()
        .flat_map(|j| j.context.iter().cloned())
        .collect();
    let mut contexts = std::collections::BTreeMap::new();
    for context in wanted {
        let vars = contexts::vars_of(&context);
        if vars.is_empty() {
            notes.push(format!(
                "context {context} has no variables stored here: `slipway secret set context {context}/NAME` stores one"
            ));
            continue;
        }
        let Some(secrets) = secrets else { continue };
        let mut values = Vec::new();
        for var in vars {
            let id = crate::secrets::SecretId::ContextVar {
                context: context.clone(),
                var: var.clone(),
            };
            match secrets.get(id).await {
                Ok(secret) => values.push((var, secret.expose().to_string())),
                Err(e) => notes.push(format!(
                    "context {context}: {var} was not read ({})",
                    e.problem().message
                )),
            }
        }
        contexts.insert(context, values);
    }
    let project = crate::config::default_name(&root);
    Ok(Prepared {
        run: WorkflowRun {
            project,
            root,
            plan,
            values,
            contexts,
            caches: CacheStore::user(),
            artifacts: crate::paths::data_dir().map(|d| d.join("artifacts")),
            parallel: std::thread::available_parallelism().map_or(2, |n| n.get()),
        },
        git,
        notes,
    })
}
