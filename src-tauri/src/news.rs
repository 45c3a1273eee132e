//! What happens to runs and watched pull requests, for whoever follows: the web view (as typed
//! events), and inside the app the tray and notifications, which subscribe
//! to the [`RunNews`] the run sessions publish.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use slipway_core::Problem;
use slipway_core::event::{Outcome, RunId};
use slipway_core::flow::follow::{PullView, Transition};
use slipway_core::radar::{BranchTransition, BranchView};
use tokio::sync::broadcast;

/// A run began.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct RunStarted {
    /// The run.
    pub run_id: RunId,
    /// Project folder.
    pub path: PathBuf,
}

/// A run ended.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct RunFinished {
    /// The run.
    pub run_id: RunId,
    /// Project folder.
    pub path: PathBuf,
    /// Project name.
    pub project: String,
    /// History number, when recorded.
    pub seq: Option<i64>,
    /// The result.
    pub outcome: Outcome,
    /// Total duration.
    pub duration_ms: u64,
    /// Why the history could not keep the run, when it could not.
    pub unrecorded: Option<Problem>,
}

/// The window should show this project (and run, when given).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct Navigate {
    /// Project folder.
    pub path: PathBuf,
    /// Run to open, if any.
    pub run_id: Option<RunId>,
    /// History number of that run, to open it in the history.
    pub seq: Option<i64>,
}

/// A watched pull request changed (its checks, its state, its arming).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct PullChanged {
    /// Project folder.
    pub path: PathBuf,
    /// The pull request as it is now.
    pub view: PullView,
}

/// A project's deploy ended (or did not happen): its Deploy button asks
/// the gate again.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct DeployChanged {
    /// Project folder.
    pub path: PathBuf,
}

/// The Push and open PR of a project got further.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct FlowProgress {
    /// Project folder.
    pub path: PathBuf,
    /// What it is doing, in a few words (a line of git's progress).
    pub message: String,
}

/// A project's followed branches changed (the radar).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct BranchesChanged {
    /// Project folder.
    pub path: PathBuf,
    /// Its default branch, then its checked-out one when another.
    pub branches: Vec<BranchView>,
}

/// A followed branch changed, as the tray and notifications hear it.
#[derive(Debug, Clone)]
pub struct BranchNews {
    /// Project folder.
    pub path: PathBuf,
    /// Project name.
    pub project: String,
    /// Its branches as they are now.
    pub branches: Vec<BranchView>,
    /// A branch that turned red or green again.
    pub transition: Option<(BranchView, BranchTransition)>,
}

/// A watched pull request changed, as the tray and notifications hear it.
#[derive(Debug, Clone)]
pub struct PullNews {
    /// Project folder.
    pub path: PathBuf,
    /// Project name.
    pub project: String,
    /// The pull request as it is now.
    pub view: PullView,
    /// What changed, when it is worth a notification.
    pub transition: Option<Transition>,
    /// Something else to tell (a merge that failed, an arming undone).
    pub notice: Option<String>,
}

/// What a deploy has to tell: its result, or why it did not happen.
#[derive(Debug, Clone)]
pub struct DeployNews {
    /// Project folder.
    pub path: PathBuf,
    /// The notification's title.
    pub title: String,
    /// Its body.
    pub body: String,
}

/// A change in the app's runs, watched pull requests and deploys, as its
/// parts inside the app hear it.
#[derive(Debug, Clone)]
pub enum RunNews {
    /// A run began.
    Started(RunStarted),
    /// A run ended.
    Finished(Box<RunFinished>),
    /// A watched pull request changed.
    Pull(Box<PullNews>),
    /// A followed branch changed.
    Branch(Box<BranchNews>),
    /// A deploy ended or did not happen.
    Deploy(DeployNews),
}

/// News that may wait for a slow subscriber before the oldest is dropped.
const BACKLOG: usize = 64;

/// Where run sessions publish and the tray and notifications subscribe.
#[derive(Debug)]
pub struct NewsBus {
    tx: broadcast::Sender<RunNews>,
}

impl Default for NewsBus {
    fn default() -> Self {
        NewsBus {
            tx: broadcast::channel(BACKLOG).0,
        }
    }
}

impl NewsBus {
    /// Tells every subscriber; news nobody follows is dropped.
    pub fn publish(&self, news: RunNews) {
        if self.tx.send(news).is_err() {
            tracing::debug!("no one follows run news");
        }
    }

    /// A receiver of the news from now on, for a task that waits for one.
    pub fn subscribe(&self) -> broadcast::Receiver<RunNews> {
        self.tx.subscribe()
    }

    /// Follows the news from now on: `on_news` is called for each, in order,
    /// on the app's runtime.
    pub fn follow(&self, on_news: impl Fn(RunNews) + Send + 'static) {
        let mut rx = self.tx.subscribe();
        tauri::async_runtime::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(news) => on_news(news),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "a run news subscriber fell behind");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }
}
