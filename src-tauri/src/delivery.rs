//! Deploys from the window and the tray, through the core's gate and its
//! once-per-commit claim ([`slipway_core::deploy`]): the gate's answer for
//! the Deploy button, firing a trigger, the deploy history; each result is
//! notified.

use std::path::{Path, PathBuf};

use serde::Serialize;
use slipway_core::deploy::{self, DeployRecord, DeployState, Origin, Outcome, Request};
use slipway_core::secrets::Secrets;
use slipway_core::{ErrorCode, Problem};
use tauri::{AppHandle, Manager, State};

use crate::AppState;
use crate::news::{DeployNews, NewsBus, RunNews};
use slipway_core::flow::Project;

/// A declared deploy trigger.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct TriggerView {
    /// Its name (`hub`).
    pub name: String,
    /// `dockerhub` or `command`.
    pub kind: String,
    /// The branch it deploys.
    pub branch: String,
}

/// What the Deploy button shows: the trigger, the gate's answer, the last
/// deploy of that commit.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct DeployStatus {
    /// Project folder.
    pub path: PathBuf,
    /// The trigger the button fires (the first declared).
    pub trigger: TriggerView,
    /// Every declared trigger's name.
    pub triggers: Vec<String>,
    /// The commit that would be deployed: the tip of the branch on GitHub.
    pub sha: String,
    /// Why the gate refuses, when it does.
    pub refusal: Option<String>,
    /// What to do about it.
    pub hint: Option<String>,
    /// The last deploy of this commit through this trigger.
    pub last: Option<DeployRecord>,
}

/// The result of a Deploy click.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct DeployDone {
    /// The deploy, when a request was sent.
    pub sent: Option<DeployRecord>,
    /// Why nothing was sent (the gate, or this commit already deployed).
    pub refused: Option<Problem>,
}

/// The Deploy button's state for a project whose pipeline declares a
/// trigger; `None` when it declares none.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn deploy_status(
    state: State<'_, AppState>,
    path: String,
    trigger: Option<String>,
) -> Result<Option<DeployStatus>, Problem> {
    let path = state.known_project(&path)?;
    let pipeline = slipway_core::project::pipeline(&path)?;
    if pipeline.deploys.is_empty() {
        return Ok(None);
    }
    let chosen = deploy::pick_trigger(
        &pipeline,
        trigger.as_deref().or(Some(&pipeline.deploys[0].name)),
    )?;
    let project = Project::open_default(&path).await?;
    let branch = chosen
        .branch
        .clone()
        .unwrap_or_else(|| project.info.default_branch.clone());
    let verdict = deploy::gate::check(&project, &branch, None).await?;
    let last = tokio::task::spawn_blocking({
        let (name, trigger, sha) = (
            pipeline.project.clone(),
            chosen.name.clone(),
            verdict.sha.clone(),
        );
        move || {
            slipway_core::history::History::open_default()
                .and_then(|h| h.deploys(50, Some(&name)))
                .map(|all| {
                    all.into_iter()
                        .find(|d| d.trigger == trigger && d.sha == sha)
                })
        }
    })
    .await
    .map_err(|e| {
        Problem::new(
            ErrorCode::History,
            format!("reading the deploys failed: {e}"),
        )
    })??;
    let (refusal, hint) = verdict
        .refusal
        .map_or((None, None), |(r, h)| (Some(r), Some(h)));
    Ok(Some(DeployStatus {
        path,
        trigger: TriggerView {
            name: chosen.name.clone(),
            kind: chosen.kind.word().into(),
            branch,
        },
        triggers: pipeline.deploys.iter().map(|d| d.name.clone()).collect(),
        sha: verdict.sha,
        refusal,
        hint,
        last,
    }))
}

/// Deploys (the button, or the tray with `origin` tray): the gate and the
/// once-per-commit claim apply; `force` and `again` are the user's explicit
/// "Deploy anyway" and "Deploy again".
pub async fn fire(app: &AppHandle, path: &Path, request: Request) -> Result<DeployDone, Problem> {
    let pipeline = slipway_core::project::pipeline(path)?;
    let project = Project::open_default(path).await?;
    let outcome = deploy::deploy(
        &project,
        &pipeline,
        &request,
        &Secrets::os(),
        None,
        |step| tracing::info!("{step}"),
    )
    .await?;
    let done = match outcome {
        Outcome::Sent(record) => DeployDone {
            sent: Some(record),
            refused: None,
        },
        Outcome::Refused(refused) => DeployDone {
            sent: None,
            refused: Some(refused.problem()),
        },
    };
    tell(app, path, result_text(&pipeline.project, &done));
    Ok(done)
}

/// Deploys from the window.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(app, state))]
pub async fn deploy_fire(
    app: AppHandle,
    state: State<'_, AppState>,
    path: String,
    trigger: Option<String>,
    force: bool,
    again: bool,
) -> Result<DeployDone, Problem> {
    let path = state.known_project(&path)?;
    let request = Request {
        trigger,
        sha: None,
        force,
        again,
        origin: Origin::Click,
    };
    fire(&app, &path, request).await
}

/// After a merge when green landed: waits until `merge_sha` is green on
/// the branch of the project's after-merge trigger (if it declares one for
/// that branch), then deploys that commit. A red merge commit is told, not
/// deployed.
pub async fn after_merge(app: AppHandle, path: PathBuf, base: String, merge_sha: String) {
    let Ok(pipeline) = slipway_core::project::pipeline(&path) else {
        return;
    };
    let Some(trigger) = pipeline.deploys.iter().find(|d| d.after_merge).cloned() else {
        return;
    };
    let project = match Project::open_default(&path).await {
        Ok(p) => p,
        Err(problem) => return not_deployed(&app, &path, &pipeline.project, &problem),
    };
    let branch = trigger
        .branch
        .clone()
        .unwrap_or_else(|| project.info.default_branch.clone());
    if branch != base {
        return;
    }
    let required = project
        .client
        .required_checks(&project.repo, &branch)
        .await
        .unwrap_or_default();
    let mut watch =
        slipway_core::github::watch::ChecksWatch::new(project.repo.clone(), &merge_sha, required);
    let deadline = tokio::time::Instant::now() + AFTER_MERGE_WAIT;
    loop {
        if let Ok(Some(rollup)) = watch.poll(&project.client).await {
            match rollup.state {
                slipway_core::github::checks::CheckState::Success => break,
                slipway_core::github::checks::CheckState::Failure => {
                    let done = DeployDone {
                        sent: None,
                        refused: Some(Problem::new(
                            ErrorCode::Conflict,
                            format!(
                                "the merge commit {} is red on {branch}: {} failed; not deployed",
                                slipway_core::git::short_sha(&merge_sha),
                                rollup.failed_names().join(", ")
                            ),
                        )),
                    };
                    return tell(&app, &path, result_text(&pipeline.project, &done));
                }
                slipway_core::github::checks::CheckState::Pending => {}
            }
        }
        if tokio::time::Instant::now() > deadline {
            tracing::info!("the merge commit did not go green in time: not deployed after merge");
            return;
        }
        tokio::time::sleep(watch.interval(&project.client)).await;
    }
    let request = Request {
        trigger: Some(trigger.name.clone()),
        sha: Some(merge_sha),
        force: false,
        again: false,
        origin: Origin::AfterMerge,
    };
    if let Err(problem) = fire(&app, &path, request).await {
        not_deployed(&app, &path, &pipeline.project, &problem);
    }
}

/// Deploys after merge from now on: each merge when green that lands
/// starts [`after_merge`].
pub fn follow_merges(app: &AppHandle) {
    let handle = app.clone();
    app.state::<NewsBus>().follow(move |news| {
        if let RunNews::Merged(merged) = news {
            tauri::async_runtime::spawn(after_merge(
                handle.clone(),
                merged.path,
                merged.base,
                merged.sha,
            ));
        }
    });
}

/// Tells the notifications a deploy's news.
fn tell(app: &AppHandle, path: &Path, (title, body): (String, String)) {
    app.state::<NewsBus>().publish(RunNews::Deploy(DeployNews {
        path: path.to_path_buf(),
        title,
        body,
    }));
}

fn not_deployed(app: &AppHandle, path: &Path, project: &str, problem: &Problem) {
    tell(
        app,
        path,
        (
            format!("{project}: not deployed after merge"),
            problem.message.clone(),
        ),
    );
}

/// How long a merge commit may take to go green for a deploy after merge.
const AFTER_MERGE_WAIT: std::time::Duration = std::time::Duration::from_secs(3600);

/// Past deploys, newest first, optionally of one project.
#[tauri::command]
#[specta::specta]
#[tracing::instrument]
pub async fn deploys_list(
    project: Option<String>,
    limit: u32,
) -> Result<Vec<DeployRecord>, Problem> {
    tokio::task::spawn_blocking(move || {
        let history = slipway_core::history::History::open_default()?;
        Ok(history.deploys(limit.min(1000) as usize, project.as_deref())?)
    })
    .await
    .map_err(|e| {
        Problem::new(
            ErrorCode::History,
            format!("reading the deploys failed: {e}"),
        )
    })?
}

/// The words for a deploy's result: title and body of its notification.
pub fn result_text(project: &str, done: &DeployDone) -> (String, String) {
    match (&done.sent, &done.refused) {
        (Some(d), _) => {
            let short = slipway_core::git::short_sha(&d.sha);
            let detail = d.detail.clone().unwrap_or_default();
            match d.state {
                DeployState::Succeeded => (
                    format!("{project}: deployed {short} via {}", d.trigger),
                    detail,
                ),
                DeployState::Failed => (format!("{project}: deploy failed"), detail),
                DeployState::Unknown => (format!("{project}: deploy outcome unknown"), detail),
                DeployState::Firing => (
                    format!("{project}: deploying {short} via {}", d.trigger),
                    detail,
                ),
            }
        }
        (None, Some(problem)) => (format!("{project}: not deployed"), problem.message.clone()),
        (None, None) => (format!("{project}: not deployed"), String::new()),
    }
}
