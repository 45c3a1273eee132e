//! The GitHub flow's commands for the web view: where a project stands
//! (branch, pull request, checks), a new branch, Push and open PR (after a
//! preflight run), merging, merge when green, and the open pull requests
//! across projects. Each is a thin layer over [`slipway_core::flow`].

use std::path::{Path, PathBuf};

use serde::Serialize;
use slipway_core::accounts::AccountStore;
use slipway_core::config::Pipeline;
use slipway_core::event::Outcome;
use slipway_core::flow::Project;
use slipway_core::flow::follow::PullView;
use slipway_core::flow::list::{OpenPulls, open_pulls};
use slipway_core::flow::publish::{PublishEvent, PublishOptions, Published};
use slipway_core::flow::why::{FailedCheck, Rerun};
use slipway_core::git::BranchStatus;
use slipway_core::github::GithubRepo;
use slipway_core::github::pulls::MergeMethod;
use slipway_core::{ErrorCode, Problem};
use tauri::{AppHandle, Manager, State};
use tauri_specta::Event as _;

use crate::AppState;
use crate::news::{FlowProgress, NewsBus, RunNews};
use crate::pulls::Watcher;

/// Where a project stands in the GitHub flow.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct FlowStatus {
    /// Project folder.
    pub path: PathBuf,
    /// Its repository on GitHub.
    pub repo: GithubRepo,
    /// The repository's default branch.
    pub default_branch: String,
    /// The branch checked out, ahead/behind, uncommitted changes.
    pub branch: BranchStatus,
    /// The pull request for the branch (or the one watched), with its checks.
    pub pull: Option<PullView>,
}

async fn status_of(
    watcher: &Watcher,
    path: &Path,
    project: Project,
) -> Result<FlowStatus, Problem> {
    let pull = match project.pull_request().await? {
        Some(pull) => Some(watcher.follow(path, project.clone(), pull).await?),
        None => watcher
            .view(path)
            .filter(|v| Some(&v.pull.head_ref) == project.branch.branch.as_ref()),
    };
    // What the window shows keeps its pace; the other projects slow down.
    watcher.show(path);
    Ok(FlowStatus {
        path: path.to_path_buf(),
        repo: project.repo,
        default_branch: project.info.default_branch,
        branch: project.branch,
        pull,
    })
}

/// Where a project stands in the GitHub flow; its open pull request is
/// watched from now on.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state, watcher, radar))]
pub async fn flow_status(
    state: State<'_, AppState>,
    watcher: State<'_, Watcher>,
    radar: State<'_, slipway_core::radar::Radar>,
    path: String,
) -> Result<FlowStatus, Problem> {
    let path = state.known_project(&path)?;
    let project = Project::open_default(&path).await?;
    // A branch switched since: the radar follows the new one.
    radar.watch(&path, &project);
    status_of(&watcher, &path, project).await
}

/// Creates a branch from the up-to-date default branch and switches to it.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state, watcher))]
pub async fn branch_create(
    state: State<'_, AppState>,
    watcher: State<'_, Watcher>,
    path: String,
    name: String,
) -> Result<FlowStatus, Problem> {
    let path = state.known_project(&path)?;
    let project = Project::open_default(&path).await?;
    slipway_core::git::new_branch(&path, "origin", &project.info.default_branch, name.trim())
        .await?;
    let project = Project::open_default(&path).await?;
    status_of(&watcher, &path, project).await
}

/// After a merge: switches to the default branch, up to date, deleting the
/// merged branch when its tip is the head that was merged (`merged_head`).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state, watcher))]
pub async fn branch_switch_default(
    state: State<'_, AppState>,
    watcher: State<'_, Watcher>,
    path: String,
    merged_branch: Option<String>,
    merged_head: Option<String>,
) -> Result<FlowStatus, Problem> {
    let path = state.known_project(&path)?;
    let project = Project::open_default(&path).await?;
    let merged = merged_branch.as_deref().zip(merged_head.as_deref());
    project.switch_to_default(merged).await?;
    watcher.unfollow(&path);
    status_of(&watcher, &path, Project::open_default(&path).await?).await
}

fn progress(app: &AppHandle, path: &Path, message: impl Into<String>) {
    let progress = FlowProgress {
        path: path.to_path_buf(),
        message: message.into(),
    };
    if let Err(e) = progress.emit(app) {
        tracing::debug!(error = %e, "no window to tell of the push");
    }
}

/// The window's words for a step of Push and open PR.
fn publish_words(event: PublishEvent) -> String {
    match event {
        PublishEvent::Uncommitted { files } => {
            format!("{files} changed file(s) are not committed and will not be pushed")
        }
        PublishEvent::Preflight { worktree: true, .. } => {
            "Running the pipeline on the commit as pushed (your changes stay as they are)".into()
        }
        PublishEvent::Preflight { .. } => "Running the pipeline before the push".into(),
        PublishEvent::PushingAnyway => "The pipeline failed; pushing anyway".into(),
        PublishEvent::Pushing { branch } => format!("Pushing {branch} to origin"),
        PublishEvent::PushProgress(line) => line,
        PublishEvent::PreflightPublished { .. } => {
            "The pipeline's result is on GitHub for reviewers".into()
        }
        PublishEvent::PreflightNotPublished { reason } => {
            format!("The pipeline's result was not published: {reason}")
        }
        PublishEvent::Opening => "Opening the pull request".into(),
    }
}

/// Runs `pipeline` as the project's preflight and waits for its result
/// (the window follows it like any run); whether it passed.
async fn preflight(app: &AppHandle, path: &Path, pipeline: Pipeline) -> Result<bool, Problem> {
    let mut news = app.state::<NewsBus>().subscribe();
    let run_id = crate::session::start_pipeline(app, path.to_path_buf(), pipeline).await?;
    loop {
        match news.recv().await {
            Ok(RunNews::Finished(done)) if done.run_id == run_id => {
                return Ok(matches!(done.outcome, Outcome::Passed));
            }
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                return Err(Problem::new(
                    ErrorCode::Io,
                    "the preflight run's result was lost",
                ));
            }
        }
    }
}

/// Push and open PR, through the core's publish: the preflight (unless the
/// setting is off), the push, the pull request, then it is followed.
async fn publish(app: &AppHandle, path: &Path, options: PublishOptions) -> Result<(), Problem> {
    let project = Project::open_default(path).await?;
    let published = project
        .publish(
            &options,
            async |pipeline| preflight(app, path, pipeline).await,
            |event| progress(app, path, publish_words(event)),
        )
        .await;
    progress(app, path, "");
    match published? {
        Published::PreflightFailed => Err(Problem::new(
            ErrorCode::PreflightFailed,
            "the pipeline failed before the push, so nothing was pushed",
        )
        .with_hint("Fix it and try again, or push anyway.")),
        Published::Opened(_) | Published::AlreadyOpen(_) => Ok(()),
    }
}

/// Push and open PR: runs the pipeline first (unless the setting is off or
/// the project has none), pushes the branch with its upstream, opens the
/// pull request against the default branch (or finds the open one) and
/// watches it. A red preflight pushes nothing unless `push_anyway`.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(app, state, watcher))]
pub async fn pr_open(
    app: AppHandle,
    state: State<'_, AppState>,
    watcher: State<'_, Watcher>,
    path: String,
    push_anyway: bool,
    draft: bool,
) -> Result<FlowStatus, Problem> {
    let path = state.known_project(&path)?;
    let settings = state.settings();
    let options = PublishOptions {
        draft,
        preflight: settings.preflight,
        publish_preflight: settings.preflight && settings.publish_preflight,
        push_anyway,
        ..PublishOptions::default()
    };
    publish(&app, &path, options).await?;
    status_of(&watcher, &path, Project::open_default(&path).await?).await
}

/// Merges the pull request as the window shows it (its head commit).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state, watcher))]
pub async fn pr_merge(
    state: State<'_, AppState>,
    watcher: State<'_, Watcher>,
    path: String,
    head_sha: String,
    method: MergeMethod,
) -> Result<FlowStatus, Problem> {
    let path = state.known_project(&path)?;
    watcher.merge(&path, &head_sha, method).await?;
    status_of(&watcher, &path, Project::open_default(&path).await?).await
}

/// Arms (or disarms) merge when green for the pull request's head commit
/// as the window shows it; it survives a restart.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state, watcher))]
pub async fn pr_arm(
    state: State<'_, AppState>,
    watcher: State<'_, Watcher>,
    path: String,
    head_sha: String,
    method: MergeMethod,
    armed: bool,
) -> Result<Option<PullView>, Problem> {
    let path = state.known_project(&path)?;
    let view = match armed {
        true => watcher.arm(&path, &head_sha, method).await?,
        false => watcher.disarm(&path).await?,
    };
    Ok(Some(view))
}

/// Why each failed check of the project's pull request failed: its
/// failing step, that step's last lines and its annotations.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state, watcher))]
pub async fn pr_why_failed(
    state: State<'_, AppState>,
    watcher: State<'_, Watcher>,
    path: String,
) -> Result<Vec<FailedCheck>, Problem> {
    let path = state.known_project(&path)?;
    watcher.why_failed(&path).await
}

/// Runs the failed checks of the project's pull request again (every job
/// of their runs with `all`); the pull request goes back to pending.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state, watcher))]
pub async fn pr_rerun(
    state: State<'_, AppState>,
    watcher: State<'_, Watcher>,
    path: String,
    all: bool,
) -> Result<Rerun, Problem> {
    let path = state.known_project(&path)?;
    watcher.rerun(&path, all).await
}

/// The open pull requests across the user's projects on GitHub.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn pulls_open(state: State<'_, AppState>) -> Result<OpenPulls, Problem> {
    let on_github: Vec<PathBuf> = state
        .recent_paths()
        .into_iter()
        .filter(|p| slipway_core::project::inspect_now(p).is_ok_and(|i| i.github.is_some()))
        .collect();
    let accounts = AccountStore::open_default()?;
    Ok(open_pulls(&on_github, &accounts).await)
}
