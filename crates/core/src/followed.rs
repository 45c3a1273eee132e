//! The followed pull requests of a long-lived front end (the window): one
//! owner, fed by commands over a channel, telling changes as events. Each
//! followed pull request is a task of its own that owns its
//! [`PullFollow`]; no lock is held across a request to GitHub, so a merge
//! never waits behind a look. When one merges, whoever merged it, the
//! after-merge deploy follows its merge commit here too.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::accounts::AccountStore;
use crate::deploy::Stores;
use crate::deploy::after_merge::{AfterMerge, AfterMergeEvent, MergeCommit, after_merge};
use crate::flow::Project;
use crate::flow::armed::ArmedMerges;
use crate::flow::budget::{Budget, Demand};
use crate::flow::follow::{PullEvent, PullFollow, PullView};
use crate::flow::follower::Stopped;
use crate::flow::why::{FailedCheck, Rerun, rerun_failed, why_failed};
use crate::github::pulls::{MergeMethod, PullRequest};
use crate::secrets::Secrets;
use crate::{ErrorCode, Problem};

/// What the owner tells its front end.
#[derive(Debug)]
pub enum FollowedEvent {
    /// News of the pull request followed for `path`.
    Pull {
        /// The project folder.
        path: PathBuf,
        /// What happened.
        event: PullEvent,
    },
    /// News of a deploy after merge for `path`.
    AfterMerge {
        /// The project folder.
        path: PathBuf,
        /// The project's name.
        project: String,
        /// How it goes.
        progress: AfterMergeProgress,
    },
}

/// A deploy after merge, as it goes and as it ends.
#[derive(Debug)]
pub enum AfterMergeProgress {
    /// Still going.
    Event(AfterMergeEvent),
    /// Ended.
    Done(AfterMerge),
    /// Could not go on.
    Failed(Problem),
}

/// Where the owner keeps what it needs besides GitHub.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The armed merges.
    pub armed: ArmedMerges,
    /// The user's accounts, for deploys after merge.
    pub accounts: AccountStore,
    /// The keychain, for deploy triggers' secrets.
    pub secrets: Secrets,
    /// The history file for deploys (`None`: the user's).
    pub history: Option<PathBuf>,
    /// Whether merges start their after-merge deploys here.
    pub deploy_after_merge: bool,
}

/// Where a task answers a command.
type Reply = oneshot::Sender<Result<PullView, Problem>>;

enum Command {
    Arm {
        sha: String,
        method: MergeMethod,
        reply: Reply,
    },
    Disarm {
        reply: Reply,
    },
    Merge {
        sha: String,
        method: MergeMethod,
        reply: Reply,
    },
    /// Look now (it came on screen).
    Look,
}

struct Task {
    number: u64,
    commands: mpsc::UnboundedSender<Command>,
    _stop: DropGuard,
}

type Sink = Arc<dyn Fn(FollowedEvent) + Send + Sync>;

/// The followed pull requests, one per project folder.
pub struct Followed {
    tasks: Mutex<HashMap<PathBuf, Task>>,
    views: Arc<Mutex<HashMap<PathBuf, PullView>>>,
    settings: Settings,
    sink: Sink,
    budget: Budget,
    stop: CancellationToken,
}

impl std::fmt::Debug for Followed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Followed")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Drop for Followed {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Followed {
    /// An owner that tells `sink` what happens, on the current runtime.
    pub fn new(settings: Settings, sink: impl Fn(FollowedEvent) + Send + Sync + 'static) -> Self {
        Followed {
            tasks: Mutex::new(HashMap::new()),
            views: Arc::new(Mutex::new(HashMap::new())),
            settings,
            sink: Arc::new(sink),
            budget: Budget::default(),
            stop: CancellationToken::new(),
        }
    }

    /// The same owner within `budget` instead of the app's default.
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// The budget of requests its followers share (for others to share it).
    pub fn budget(&self) -> Budget {
        self.budget.clone()
    }

    /// `path`'s pull request is on screen: it keeps its pace within the
    /// app's budget of requests to GitHub (the others slow down), and is
    /// looked at now.
    pub fn show(&self, path: &Path) {
        self.budget.show(path);
        if self.send(path, Command::Look).is_err() {
            tracing::debug!(path = %path.display(), "nothing followed to show");
        }
    }

    /// The pull request followed for `path`, as last seen.
    pub fn view(&self, path: &Path) -> Option<PullView> {
        self.views.lock().ok()?.get(path).cloned()
    }

    /// Follows `pull` for `path` (unless it already is) and returns it as
    /// it stands, its checks read.
    pub async fn follow(
        &self,
        path: &Path,
        project: Project,
        pull: PullRequest,
    ) -> Result<PullView, Problem> {
        if self.number(path) == Some(pull.number)
            && let Some(view) = self.view(path)
        {
            return Ok(view);
        }
        let follow = PullFollow::start(project, pull, self.settings.armed.clone()).await?;
        let view = follow.view().clone();
        let (tx, rx) = mpsc::unbounded_channel();
        let stop = self.stop.child_token();
        if let Ok(mut views) = self.views.lock() {
            views.insert(path.to_path_buf(), view.clone());
        }
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.insert(
                path.to_path_buf(),
                Task {
                    number: view.pull.number,
                    commands: tx,
                    _stop: stop.clone().drop_guard(),
                },
            );
        }
        let task = FollowTask {
            path: path.to_path_buf(),
            follow,
            views: self.views.clone(),
            sink: self.sink.clone(),
            settings: self.settings.clone(),
            budget: self.budget.clone(),
            stop,
            root: self.stop.clone(),
        };
        tokio::spawn(task.run(rx));
        Ok(view)
    }

    fn number(&self, path: &Path) -> Option<u64> {
        self.tasks.lock().ok()?.get(path).map(|t| t.number)
    }

    /// Stops following `path`'s pull request.
    pub fn unfollow(&self, path: &Path) {
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.remove(path);
        }
        if let Ok(mut views) = self.views.lock() {
            views.remove(path);
        }
    }

    /// Arms `path`'s pull request to merge when `sha` (the head the user
    /// saw) is green.
    pub async fn arm(
        &self,
        path: &Path,
        sha: &str,
        method: MergeMethod,
    ) -> Result<PullView, Problem> {
        let sha = sha.to_string();
        self.ask(path, |reply| Command::Arm { sha, method, reply })
            .await
    }

    /// Disarms `path`'s pull request.
    pub async fn disarm(&self, path: &Path) -> Result<PullView, Problem> {
        self.ask(path, |reply| Command::Disarm { reply }).await
    }

    /// Merges `path`'s pull request if its head is still `sha`.
    pub async fn merge(
        &self,
        path: &Path,
        sha: &str,
        method: MergeMethod,
    ) -> Result<PullView, Problem> {
        let sha = sha.to_string();
        self.ask(path, |reply| Command::Merge { sha, method, reply })
            .await
    }

    /// Why each failed check of `path`'s pull request failed, as its CI
    /// tells (read once per failed run, then kept).
    pub async fn why_failed(&self, path: &Path) -> Result<Vec<FailedCheck>, Problem> {
        let view = self.view(path).ok_or_else(not_followed)?;
        let Some(checks) = view.checks.as_ref() else {
            return Ok(Vec::new());
        };
        let accounts = &self.settings.accounts;
        let project = Project::open(path, accounts).await?;
        Ok(why_failed(&project, accounts, checks).await)
    }

    /// Runs the failed checks of `path`'s pull request again (every job
    /// of their runs with `all`), then looks at it at once: it shows
    /// pending as soon as GitHub does.
    pub async fn rerun(&self, path: &Path, all: bool) -> Result<Rerun, Problem> {
        let view = self.view(path).ok_or_else(not_followed)?;
        let Some(checks) = view.checks.as_ref() else {
            return Ok(Rerun {
                checks: Vec::new(),
                skipped: Vec::new(),
            });
        };
        let accounts = &self.settings.accounts;
        let project = Project::open(path, accounts).await?;
        let done = rerun_failed(&project, accounts, checks, all).await?;
        if self.send(path, Command::Look).is_err() {
            tracing::debug!(path = %path.display(), "re-run, no longer followed");
        }
        Ok(done)
    }

    /// Sends `path`'s task a command and waits for its answer.
    async fn ask(
        &self,
        path: &Path,
        command: impl FnOnce(Reply) -> Command,
    ) -> Result<PullView, Problem> {
        let (reply, answer) = oneshot::channel();
        self.send(path, command(reply))?;
        answer.await.map_err(|_| not_followed())?
    }

    fn send(&self, path: &Path, command: Command) -> Result<(), Problem> {
        let tasks = self.tasks.lock().map_err(|_| not_followed())?;
        let task = tasks.get(path).ok_or_else(not_followed)?;
        task.commands.send(command).map_err(|_| not_followed())
    }
}

fn not_followed() -> Problem {
    Problem::new(
        ErrorCode::NotFound,
        "no open pull request is followed for this project",
    )
}

/// One followed pull request's task: looks when due, obeys commands.
struct FollowTask {
    path: PathBuf,
    follow: PullFollow,
    views: Arc<Mutex<HashMap<PathBuf, PullView>>>,
    sink: Sink,
    settings: Settings,
    budget: Budget,
    stop: CancellationToken,
    /// The owner's: a deploy after merge outlives its pull request's task.
    root: CancellationToken,
}

impl FollowTask {
    async fn run(mut self, commands: mpsc::UnboundedReceiver<Command>) {
        self.follow_until_done(commands).await;
        self.budget.leave(&self.path);
    }

    async fn follow_until_done(&mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut wait = self.paced(self.follow.interval());
        loop {
            if self.follow.finished() {
                break;
            }
            tokio::select! {
                _ = self.stop.cancelled() => return,
                command = commands.recv() => match command {
                    Some(command) => wait = self.obey(command).await,
                    None => return,
                },
                _ = tokio::time::sleep(wait) => {
                    match self.follow.look().await {
                        Ok((events, next)) => {
                            wait = self.paced(next);
                            self.tell(events);
                        }
                        Err(problem) => {
                            tracing::warn!(path = %self.path.display(), "stopped following: {}", problem.message);
                            break;
                        }
                    }
                }
            }
        }
        // A merged or closed pull request stays in view (the header says
        // what happened) until the front end stops following it.
        if !self.follow.finished()
            && let Ok(mut views) = self.views.lock()
        {
            views.remove(&self.path);
        }
    }

    /// The wait before the next look, within the app's budget; an outage
    /// keeps its own backoff.
    fn paced(&self, wanted: std::time::Duration) -> std::time::Duration {
        if self.follow.in_outage() {
            return wanted;
        }
        let demand = Demand {
            cost: self.follow.reads().max(1),
            wanted,
            eager: self.follow.view().armed.is_some(),
        };
        self.budget.next(&self.path, demand)
    }

    /// Carries out a command; the next look follows at once.
    async fn obey(&mut self, command: Command) -> std::time::Duration {
        let (result, reply) = match command {
            Command::Look => return std::time::Duration::ZERO,
            Command::Arm { sha, method, reply } => {
                (self.follow.arm(&sha, method).await.map(|e| vec![e]), reply)
            }
            Command::Disarm { reply } => (self.follow.disarm().await.map(|e| vec![e]), reply),
            Command::Merge { sha, method, reply } => (self.follow.merge(&sha, method).await, reply),
        };
        let answer = result.map(|events| {
            self.tell(events);
            self.follow.view().clone()
        });
        if reply.send(answer).is_err() {
            tracing::debug!("nobody waits for the answer");
        }
        std::time::Duration::ZERO
    }

    fn tell(&self, events: Vec<PullEvent>) {
        if let Ok(mut views) = self.views.lock() {
            views.insert(self.path.clone(), self.follow.view().clone());
        }
        for event in events {
            if let PullEvent::Merged { base, sha } = &event
                && self.settings.deploy_after_merge
            {
                self.deploy_after(base.clone(), sha.clone());
            }
            (self.sink)(FollowedEvent::Pull {
                path: self.path.clone(),
                event,
            });
        }
    }

    /// Starts the deploy after the merge into `base` as `sha`.
    fn deploy_after(&self, base: String, sha: String) {
        let path = self.path.clone();
        let project = self.follow.project().clone();
        let sink = self.sink.clone();
        let settings = self.settings.clone();
        let stop = self.root.child_token();
        tokio::spawn(async move {
            let pipeline = match crate::project::pipeline(&path) {
                Ok(p) => p,
                Err(e) => {
                    tracing::debug!("no deploy after merge: {}", e.problem().message);
                    return;
                }
            };
            let name = pipeline.project.clone();
            let tell = |progress| {
                sink(FollowedEvent::AfterMerge {
                    path: path.clone(),
                    project: name.clone(),
                    progress,
                })
            };
            let ended = after_merge(
                &project,
                &pipeline,
                MergeCommit {
                    base: &base,
                    sha: &sha,
                },
                Stores {
                    secrets: &settings.secrets,
                    accounts: &settings.accounts,
                    history: settings.history.as_deref(),
                },
                &stop,
                |event| tell(AfterMergeProgress::Event(event)),
            )
            .await;
            match ended {
                Ok(AfterMerge::NoTrigger) => {}
                Ok(done) => tell(AfterMergeProgress::Done(done)),
                Err(Stopped::Cancelled) => {}
                Err(Stopped::Failed(problem)) => tell(AfterMergeProgress::Failed(problem)),
            }
        });
    }
}
