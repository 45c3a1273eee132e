//! CircleCI as a deploy trigger: a pipeline on the deployed branch (with
//! parameters), its workflows followed until each has ended, through the
//! signed-in CircleCI account.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::flow::follower::pause;

use super::DeployState;
use super::fire::filled;
use super::trigger::Shot;

/// How long a pipeline may run before its outcome is unknown.
pub const PIPELINE_WAIT: Duration = Duration::from_secs(1800);
/// How often its workflows are looked at.
const POLL: Duration = Duration::from_secs(2);

#[derive(Deserialize)]
struct Pipeline {
    id: String,
    number: u64,
}

#[derive(Deserialize)]
struct Workflows {
    items: Vec<Workflow>,
}

#[derive(Deserialize)]
struct Workflow {
    name: String,
    status: String,
}

/// Workflow states that will not change any more.
fn ended(status: &str) -> bool {
    matches!(
        status,
        "success" | "failed" | "error" | "canceled" | "not_run" | "unauthorized"
    )
}

/// Triggers the pipeline and follows its workflows.
pub(super) async fn fire(
    shot: &Shot<'_>,
    progress: &mut (impl FnMut(&str) + Send),
) -> (DeployState, String) {
    let (project, trigger, context) = (shot.project, shot.trigger, shot.context);
    let (api, token) = match shot.accounts.circleci_session().await {
        Ok(session) => session,
        Err(e) => return (DeployState::Failed, crate::Problem::from(e).message),
    };
    let slug = trigger
        .github_target
        .clone()
        .unwrap_or_else(|| format!("gh/{}/{}", project.repo.owner, project.repo.name));
    let parameters = filled(&trigger.inputs, context);
    let client = match reqwest::Client::builder()
        .timeout(super::fire::HTTP_TIMEOUT)
        .build()
    {
        Ok(c) => c,
        Err(e) => return (DeployState::Failed, e.without_url().to_string()),
    };
    let api = api.trim_end_matches('/').to_string();
    let sent = client
        .post(format!("{api}/project/{slug}/pipeline"))
        .header("Circle-Token", token.expose())
        .header("content-type", "application/json")
        .body(json!({ "branch": context.branch, "parameters": parameters }).to_string())
        .send()
        .await;
    let pipeline: Pipeline = match sent {
        Ok(answer) if answer.status().is_success() => {
            let body = answer.bytes().await.unwrap_or_default();
            match serde_json::from_slice(&body) {
                Ok(p) => p,
                Err(e) => {
                    return (
                        DeployState::Unknown,
                        format!("CircleCI's answer was not a pipeline: {e}"),
                    );
                }
            }
        }
        Ok(answer) => {
            let status = answer.status().as_u16();
            let said = answer.text().await.unwrap_or_default();
            return (
                DeployState::Failed,
                format!(
                    "CircleCI answered HTTP {status}: {}",
                    crate::http::error_message(said.as_bytes())
                ),
            );
        }
        Err(e) if e.is_timeout() => {
            return (
                DeployState::Unknown,
                "CircleCI did not answer in time: the pipeline may or may not have started".into(),
            );
        }
        Err(e) => {
            return (
                DeployState::Failed,
                format!(
                    "could not reach CircleCI: {}",
                    crate::error::root_cause(&e.without_url())
                ),
            );
        }
    };
    let link = format!(
        "https://app.circleci.com/pipelines/{slug}/{}",
        pipeline.number
    );
    progress(&format!(
        "CircleCI pipeline {} started: {link}",
        pipeline.number
    ));
    let deadline = tokio::time::Instant::now() + PIPELINE_WAIT;
    let mut said = String::new();
    loop {
        let read = client
            .get(format!("{api}/pipeline/{}/workflow", pipeline.id))
            .header("Circle-Token", token.expose())
            .send()
            .await;
        let body = match read {
            Ok(answer) => answer.bytes().await.unwrap_or_default(),
            Err(_) => Default::default(),
        };
        if let Ok(workflows) = serde_json::from_slice::<Workflows>(&body)
            && !workflows.items.is_empty()
        {
            let summary: Vec<String> = workflows
                .items
                .iter()
                .map(|w| format!("{} {}", w.name, w.status))
                .collect();
            let summary = summary.join(", ");
            if workflows.items.iter().all(|w| ended(&w.status)) {
                let ok = workflows.items.iter().all(|w| w.status == "success");
                let state = if ok {
                    DeployState::Succeeded
                } else {
                    DeployState::Failed
                };
                return (state, format!("{summary}: {link}"));
            }
            if summary != said {
                progress(&summary);
                said = summary;
            }
        }
        if tokio::time::Instant::now() > deadline {
            return (
                DeployState::Unknown,
                format!(
                    "the pipeline did not finish within {} min: {link}",
                    PIPELINE_WAIT.as_secs() / 60
                ),
            );
        }
        if !pause(POLL, shot.cancel).await {
            return (
                DeployState::Unknown,
                format!("stopped following the pipeline: {link}"),
            );
        }
    }
}
