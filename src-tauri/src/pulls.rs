//! Watching the projects' pull requests: only projects with an open pull
//! request are watched, each at the pace its checks call for (seconds while
//! they run, minutes once done), with conditional requests that cost no
//! rate limit when nothing changed. Changes go to the web view as
//! [`PullChanged`] and to the tray and notifications as [`PullNews`]; an
//! armed pull request is merged here when its head goes green.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use slipway_core::Problem;
use slipway_core::flow::Project;
use slipway_core::flow::armed::{ArmedMerges, Decision, decide};
use slipway_core::flow::follow::PullView;
use slipway_core::github::pulls::PullRequest;
use slipway_core::github::watch::{PullWatch, WHEN_IDLE};
use tauri::{AppHandle, Manager};
use tauri_specta::Event as _;
use tokio::time::Instant;

use crate::news::{Merged, NewsBus, PullChanged, PullNews, RunNews};

/// The first wait after GitHub could not be reached; it doubles up to
/// [`OUTAGE_MAX`] while it stays unreachable.
const OUTAGE_FIRST: Duration = Duration::from_secs(10);
const OUTAGE_MAX: Duration = Duration::from_secs(300);

/// The watched pull requests, one per project folder.
#[derive(Default)]
pub struct Watcher {
    followed: Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<Followed>>>>,
    wake: tokio::sync::Notify,
}

struct Followed {
    project: Project,
    watch: PullWatch,
    view: PullView,
    due: Instant,
    /// How long to wait while GitHub is unreachable.
    outage: Option<Duration>,
}

/// The armed merges, in the config folder.
pub fn armed_merges() -> Result<ArmedMerges, Problem> {
    ArmedMerges::open_default()
}

impl Watcher {
    fn entry(&self, path: &Path) -> Option<Arc<tokio::sync::Mutex<Followed>>> {
        self.followed.lock().ok()?.get(path).cloned()
    }

    /// The pull request watched for `path`, as last seen.
    pub async fn view(&self, path: &Path) -> Option<PullView> {
        let entry = self.entry(path)?;
        let followed = entry.lock().await;
        Some(followed.view.clone())
    }

    /// Watches `pull` for `path` (unless it already is) and returns it as
    /// it stands, its checks read.
    pub async fn follow(
        &self,
        path: &Path,
        project: Project,
        pull: PullRequest,
    ) -> Result<PullView, Problem> {
        if let Some(entry) = self.entry(path) {
            let followed = entry.lock().await;
            if followed.view.pull.number == pull.number {
                return Ok(followed.view.clone());
            }
        }
        let client = project.client.clone();
        let required = client
            .required_checks(&project.repo, &pull.base_ref)
            .await?;
        let mut watch = PullWatch::new(project.repo.clone(), pull.clone(), required);
        let update = watch.poll(&client).await?;
        let armed = armed_merges()
            .ok()
            .and_then(|a| a.find(&project.repo, pull.number));
        let view = PullView {
            repo: project.repo.clone(),
            pull: watch.pull().clone(),
            checks: update.checks,
            armed,
            note: None,
        };
        let due = Instant::now() + watch.interval(&client);
        let followed = Followed {
            project,
            watch,
            view: view.clone(),
            due,
            outage: None,
        };
        if let Ok(mut map) = self.followed.lock() {
            map.insert(
                path.to_path_buf(),
                Arc::new(tokio::sync::Mutex::new(followed)),
            );
        }
        self.wake.notify_one();
        Ok(view)
    }

    /// Changes a watched pull request's view (arming it, a note) and tells
    /// everyone; a look at it follows at once.
    pub async fn update(
        &self,
        app: &AppHandle,
        path: &Path,
        change: impl FnOnce(&mut PullView),
    ) -> Option<PullView> {
        let entry = self.entry(path)?;
        let mut followed = entry.lock().await;
        let before = followed.view.clone();
        change(&mut followed.view);
        followed.due = Instant::now();
        announce(app, path, &followed.view, &before, None);
        self.wake.notify_one();
        Some(followed.view.clone())
    }

    /// Looks at every watched pull request when it is due, for as long as
    /// the app runs.
    async fn run(&self, app: &AppHandle) {
        loop {
            let entries: Vec<(PathBuf, Arc<tokio::sync::Mutex<Followed>>)> = self
                .followed
                .lock()
                .map(|m| m.iter().map(|(p, e)| (p.clone(), e.clone())).collect())
                .unwrap_or_default();
            let mut next = Instant::now() + WHEN_IDLE;
            for (path, entry) in entries {
                let mut followed = entry.lock().await;
                if followed.due <= Instant::now() {
                    look(app, &path, &mut followed).await;
                }
                if followed.view.state().is_none() {
                    // Merged or closed: nothing more to watch.
                    if let Ok(mut map) = self.followed.lock() {
                        map.remove(&path);
                    }
                    continue;
                }
                next = next.min(followed.due);
            }
            tracing::trace!(wait = ?next.saturating_duration_since(Instant::now()), "watcher sleeps");
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                _ = self.wake.notified() => {}
            }
        }
    }
}

/// One look at a watched pull request: read it (conditionally), act on
/// an arming, tell what changed.
async fn look(app: &AppHandle, path: &Path, followed: &mut Followed) {
    let before = followed.view.clone();
    let client = followed.project.client.clone();
    let update = match followed.watch.poll(&client).await {
        Ok(update) => update,
        Err(e) => {
            let wait = followed
                .outage
                .map_or(OUTAGE_FIRST, |w| (w * 2).min(OUTAGE_MAX));
            if followed.outage.is_none() {
                let problem = e.problem();
                followed.view.note = Some(format!(
                    "{}; still watching, next look in {} s",
                    problem.message,
                    wait.as_secs()
                ));
                announce(app, path, &followed.view, &before, None);
            }
            followed.outage = Some(wait);
            followed.due = Instant::now() + wait.max(followed.watch.interval(&client));
            return;
        }
    };
    if followed.outage.take().is_some() {
        followed.view.note = None;
    }
    if let Some(pull) = update.pull {
        followed.view.pull = pull;
    }
    if let Some(checks) = update.checks {
        followed.view.checks = Some(checks);
    }
    let mut interval = followed.watch.interval(&client);
    if followed.view.armed.is_some() {
        // Someone waits for this merge: look as often as while checks run.
        interval = interval.min(slipway_core::github::watch::WHILE_RUNNING);
    }
    tracing::debug!(
        pull = followed.view.pull.number,
        state = ?followed.view.state(),
        checks = ?followed.view.checks.as_ref().map(|c| (&c.sha, c.state)),
        head = %followed.view.pull.head_sha,
        ?interval,
        "next look"
    );
    followed.due = Instant::now() + interval;
    let notice = act_on_arming(app, path, followed).await;
    announce(app, path, &followed.view, &before, notice);
}

/// Merges, keeps waiting or disarms an armed pull request; what to tell
/// the user when it is not just waiting.
async fn act_on_arming(app: &AppHandle, path: &Path, followed: &mut Followed) -> Option<String> {
    let armed = followed.view.armed.clone()?;
    let decision = decide(&armed, &followed.view.pull, followed.view.checks.as_ref());
    let notice = match decision {
        Decision::Wait => return None,
        Decision::Done => None,
        Decision::Disarm(reason) => {
            if armed.auto_merge
                && let Err(e) = followed
                    .project
                    .client
                    .set_auto_merge(&followed.view.pull, None)
                    .await
            {
                tracing::warn!("GitHub's auto-merge stays on: {}", e.problem().message);
            }
            Some(format!("no longer armed: {reason}"))
        }
        Decision::Merge => match followed
            .project
            .merge(&followed.view.pull, armed.method)
            .await
        {
            Ok(sha) => {
                // Read again at once: the pull request now says merged.
                followed.due = Instant::now();
                app.state::<NewsBus>().publish(RunNews::Merged(Merged {
                    path: path.to_path_buf(),
                    base: followed.view.pull.base_ref.clone(),
                    sha: sha.clone(),
                }));
                followed.view.armed = None;
                followed.view.note = Some(format!(
                    "merged when green ({})",
                    slipway_core::git::short_sha(&sha)
                ));
                disarm(&armed);
                return Some("merging".into());
            }
            Err(problem) => Some(format!("could not merge: {}", problem.message)),
        },
    };
    followed.view.armed = None;
    if let Some(text) = &notice {
        followed.view.note = Some(text.clone());
    }
    disarm(&armed);
    notice
}

fn disarm(armed: &slipway_core::flow::armed::Armed) {
    if let Ok(store) = armed_merges()
        && let Err(problem) = store.disarm(&armed.repo, armed.number)
    {
        tracing::warn!("{}", problem.message);
    }
}

/// Tells the web view, the tray and notifications what changed, if anything.
fn announce(
    app: &AppHandle,
    path: &Path,
    view: &PullView,
    before: &PullView,
    notice: Option<String>,
) {
    if view == before && notice.is_none() {
        return;
    }
    let changed = PullChanged {
        path: path.to_path_buf(),
        view: view.clone(),
    };
    if let Err(e) = changed.emit(app) {
        tracing::debug!(error = %e, "no window to tell of a pull request");
    }
    app.state::<NewsBus>()
        .publish(RunNews::Pull(Box::new(PullNews {
            path: path.to_path_buf(),
            project: slipway_core::config::default_name(path),
            view: view.clone(),
            transition: view.transition(before),
            notice,
        })));
}

/// A pull request of the project's repository armed to merge when green
/// (its branch may not be checked out any more), if it is still open.
async fn armed_pull(project: &Project) -> Result<Option<PullRequest>, Problem> {
    let Some(armed) = armed_merges()?
        .list()
        .into_iter()
        .find(|a| a.repo == project.repo)
    else {
        return Ok(None);
    };
    let pull = project.client.pull(&project.repo, armed.number).await?;
    Ok((pull.state == slipway_core::github::pulls::PullState::Open).then_some(pull))
}

/// Starts watching: the recent projects' open pull requests (and those
/// armed to merge), then each as it is due, for as long as the app runs.
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
            let found = match project.pull_request().await {
                Ok(None) => armed_pull(&project).await,
                other => other,
            };
            match found {
                Ok(Some(pull)) => {
                    if let Err(problem) = app.state::<Watcher>().follow(&path, project, pull).await
                    {
                        tracing::warn!(path = %path.display(), "not watched: {}", problem.message);
                    }
                }
                Ok(None) => {}
                Err(problem) => {
                    tracing::warn!(path = %path.display(), "not watched: {}", problem.message)
                }
            }
        }
        app.state::<Watcher>().run(&app).await;
    });
}
