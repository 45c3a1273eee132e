//! GitHub as a deploy trigger: a `workflow_dispatch` of an Actions
//! workflow on the deployed branch, followed to its conclusion, or a
//! `repository_dispatch` event, both through the signed-in account.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use tokio_util::sync::CancellationToken;

use crate::config::DeployKind;
use crate::flow::Project;
use crate::flow::follower::pause;

use super::DeployState;
use super::fire::filled;
use super::trigger::Shot;

/// How long a dispatched workflow may run before its outcome is unknown.
pub const WORKFLOW_WAIT: Duration = Duration::from_secs(1800);
/// How often its run is looked at.
const WORKFLOW_POLL: Duration = Duration::from_secs(2);

#[derive(Deserialize)]
struct Dispatched {
    workflow_run_id: u64,
    #[serde(default)]
    html_url: String,
}

#[derive(Deserialize)]
struct Run {
    status: String,
    conclusion: Option<String>,
    #[serde(default)]
    html_url: String,
}

/// Fires a GitHub trigger; `progress` hears where a workflow run stands.
pub(super) async fn fire(
    shot: &Shot<'_>,
    progress: &mut (impl FnMut(&str) + Send),
) -> (DeployState, String) {
    let (project, trigger, context) = (shot.project, shot.trigger, shot.context);
    let target = trigger.github_target.clone().unwrap_or_default();
    let values = filled(&trigger.inputs, context);
    let (owner, name) = (&project.repo.owner, &project.repo.name);
    match trigger.kind {
        DeployKind::GithubDispatch => {
            let path = format!("/repos/{owner}/{name}/dispatches");
            let body = json!({ "event_type": target, "client_payload": values });
            match project.client.post_json(&path, &body).await {
                Ok(_) => (
                    DeployState::Succeeded,
                    format!("GitHub accepted the {target} dispatch"),
                ),
                Err(e) => (DeployState::Failed, e.problem().message),
            }
        }
        _ => {
            let path = format!("/repos/{owner}/{name}/actions/workflows/{target}/dispatches");
            let body =
                json!({ "ref": context.branch, "inputs": values, "return_run_details": true });
            let answer = match project.client.post_json(&path, &body).await {
                Ok(answer) => answer,
                Err(e) => return (DeployState::Failed, e.problem().message),
            };
            let Ok(dispatched) = serde_json::from_value::<Dispatched>(answer) else {
                return (
                    DeployState::Unknown,
                    format!("GitHub started {target} but did not say which run"),
                );
            };
            progress(&format!("{target} started: {}", dispatched.html_url));
            follow(project, &target, dispatched, shot.cancel, progress).await
        }
    }
}

/// Follows a dispatched run until it completes.
async fn follow(
    project: &Project,
    workflow: &str,
    dispatched: Dispatched,
    cancel: &CancellationToken,
    progress: &mut (impl FnMut(&str) + Send),
) -> (DeployState, String) {
    let path = format!(
        "/repos/{}/{}/actions/runs/{}",
        project.repo.owner, project.repo.name, dispatched.workflow_run_id
    );
    let deadline = tokio::time::Instant::now() + WORKFLOW_WAIT;
    let mut last_status = String::new();
    loop {
        match project.client.get_value::<Run>(&path).await {
            Ok(run) if run.status == "completed" => {
                let conclusion = run.conclusion.unwrap_or_default();
                let link = if run.html_url.is_empty() {
                    dispatched.html_url.clone()
                } else {
                    run.html_url
                };
                let state = if conclusion == "success" {
                    DeployState::Succeeded
                } else {
                    DeployState::Failed
                };
                return (state, format!("{workflow} {conclusion}: {link}"));
            }
            Ok(run) => {
                if run.status != last_status {
                    progress(&format!("{workflow}: {}", run.status));
                    last_status = run.status;
                }
            }
            Err(e) => tracing::debug!(
                "the workflow run could not be read: {}",
                e.problem().message
            ),
        }
        if tokio::time::Instant::now() > deadline {
            return (
                DeployState::Unknown,
                format!(
                    "{workflow} did not finish within {} min: {}",
                    WORKFLOW_WAIT.as_secs() / 60,
                    dispatched.html_url
                ),
            );
        }
        if !pause(WORKFLOW_POLL, cancel).await {
            return (
                DeployState::Unknown,
                format!("stopped following {workflow}: {}", dispatched.html_url),
            );
        }
    }
}
