//! The window's followed pull requests: the core's one owner
//! ([`slipway_core::followed::Followed`]) worded for the app. Changes go to
//! the web view as [`PullChanged`] and to the tray and notifications as
//! [`PullNews`]; deploys after merge, which the core starts whoever merged,
//! are notified like any deploy.

use std::path::Path;

use slipway_core::Problem;
use slipway_core::accounts::AccountStore;
use slipway_core::deploy::after_merge::AfterMerge;
use slipway_core::flow::Project;
use slipway_core::flow::armed::{ArmedMerges, DisarmReason};
use slipway_core::flow::follow::{ArmingChange, PullEvent};
use slipway_core::followed::{AfterMergeProgress, Followed, FollowedEvent, Settings};
use slipway_core::github::pulls::{PullRequest, PullState};
use slipway_core::secrets::Secrets;
use tauri::{AppHandle, Manager};
use tauri_specta::Event as _;

use crate::delivery::{DeployDone, result_text, tell};
use crate::news::{NewsBus, PullChanged, PullNews, RunNews};

/// The followed pull requests, one per project folder.
pub type Watcher = Followed;

/// The owner of the app's followed pull requests, telling `app`.
pub fn watcher(app: &AppHandle) -> Result<Watcher, Problem> {
    let settings = Settings {
        armed: ArmedMerges::open_default()?,
        accounts: AccountStore::open_default()?,
        secrets: Secrets::os(),
        history: None,
        deploy_after_merge: true,
    };
    let app = app.clone();
    Ok(Followed::new(settings, move |event| match event {
        FollowedEvent::Pull { path, event } => pull_news(&app, &path, event),
        FollowedEvent::AfterMerge {
            path,
            project,
            progress,
        } => deploy_news(&app, &path, &project, progress),
    }))
}

fn pull_news(app: &AppHandle, path: &Path, event: PullEvent) {
    let PullEvent::Changed {
        view,
        transition,
        review,
        arming,
    } = event
    else {
        return;
    };
    let changed = PullChanged {
        path: path.to_path_buf(),
        view: (*view).clone(),
    };
    if let Err(e) = changed.emit(app) {
        tracing::debug!(error = %e, "no window to tell of a pull request");
    }
    let notice = match arming {
        Some(ArmingChange::Merging { .. }) => Some("merging".to_string()),
        Some(ArmingChange::Disarmed(DisarmReason::ByUser)) | None => None,
        Some(ArmingChange::Disarmed(reason)) => Some(format!("no longer armed: {reason}")),
    };
    let news = |transition, notice| {
        RunNews::Pull(Box::new(PullNews {
            path: path.to_path_buf(),
            project: slipway_core::config::default_name(path),
            view: (*view).clone(),
            transition,
            notice,
        }))
    };
    let bus = app.state::<NewsBus>();
    // An approval or a request for changes is news of its own, beside the checks'.
    match (transition, review) {
        (None, Some(review)) => bus.publish(news(Some(review), notice)),
        (transition, review) => {
            bus.publish(news(transition, notice));
            if let Some(review) = review {
                bus.publish(news(Some(review), None));
            }
        }
    }
}

fn deploy_news(app: &AppHandle, path: &Path, project: &str, progress: AfterMergeProgress) {
    let text = match progress {
        AfterMergeProgress::Event(event) => {
            tracing::debug!(?event, "deploy after merge");
            return;
        }
        AfterMergeProgress::Done(AfterMerge::Fired(outcome)) => {
            result_text(project, &DeployDone::from(outcome))
        }
        AfterMergeProgress::Done(AfterMerge::Red {
            sha,
            branch,
            failed,
        }) => (
            format!("{project}: not deployed after merge"),
            format!(
                "the merge commit {} is red on {branch}: {} failed",
                slipway_core::git::short_sha(&sha),
                failed.join(", ")
            ),
        ),
        AfterMergeProgress::Done(AfterMerge::TimedOut { sha }) => (
            format!("{project}: not deployed after merge"),
            format!(
                "the merge commit {}'s checks did not finish in time",
                slipway_core::git::short_sha(&sha)
            ),
        ),
        AfterMergeProgress::Done(AfterMerge::NoTrigger) => return,
        AfterMergeProgress::Failed(problem) => (
            format!("{project}: not deployed after merge"),
            problem.message,
        ),
    };
    tell(app, path, text);
}

/// A pull request of the project's repository armed to merge when green
/// (its branch may not be checked out any more), if it is still open.
async fn armed_pull(project: &Project) -> Result<Option<PullRequest>, Problem> {
    let Some(armed) = ArmedMerges::open_default()?
        .list()
        .into_iter()
        .find(|a| a.repo == project.repo)
    else {
        return Ok(None);
    };
    let pull = project.client.pull(&project.repo, armed.number).await?;
    Ok((pull.state == PullState::Open).then_some(pull))
}

/// Starts following the recent projects' open pull requests (and those
/// armed to merge).
pub fn start(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let paths = app.state::<crate::AppState>().recent_paths();
        for path in paths {
            let project = match Project::open_default(&path).await {
                Ok(project) => project,
                Err(problem) => {
                    tracing::debug!(path = %path.display(), "not watched: {}", problem.message);
                    continue;
                }
            };
            app.state::<slipway_core::radar::Radar>()
                .watch(&path, &project);
            let found = match project.pull_request().await {
                Ok(None) => armed_pull(&project).await,
                other => other,
            };
            let followed = match found {
                Ok(Some(pull)) => app
                    .state::<Watcher>()
                    .follow(&path, project, pull)
                    .await
                    .map(|_| ()),
                Ok(None) => Ok(()),
                Err(problem) => Err(problem),
            };
            if let Err(problem) = followed {
                tracing::warn!(path = %path.display(), "not watched: {}", problem.message);
            }
        }
    });
}
