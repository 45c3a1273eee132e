//! The branch radar: each project's default branch (and the branch checked
//! out there, when it is another one) followed like a pull request, at the
//! same cost: the branch's tip and its checks are read with conditional
//! requests, so nothing is charged while nothing changes. A default branch
//! turning red, or green again, is news. [`Radar`] is the long-lived owner
//! (the window); [`status`] is one look at every project (`slipway status`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::Problem;
use crate::accounts::AccountStore;
use crate::flow::Project;
use crate::flow::budget::{Budget, Demand};
use crate::flow::follower::{AfterFailure, Pace, pause};
use crate::github::checks::{CheckState, ChecksRollup, Expectations};
use crate::github::pulls::PullRequest;
use crate::github::reviews::Reviews;
use crate::github::watch::{ChecksWatch, WHEN_IDLE, WHILE_RUNNING};
use crate::github::{Fetched, GithubClient, GithubError, GithubRepo};

/// A branch as the radar shows it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchView {
    /// Its repository.
    pub repo: GithubRepo,
    /// Its name.
    pub branch: String,
    /// Whether it is the repository's default branch.
    pub default: bool,
    /// Its tip on GitHub; `None` when GitHub does not have it (not pushed).
    pub sha: Option<String>,
    /// The tip's checks, once read.
    pub checks: Option<ChecksRollup>,
}

impl BranchView {
    /// Where its tip's checks stand; `None` when it is not on GitHub.
    pub fn state(&self) -> Option<CheckState> {
        let sha = self.sha.as_deref()?;
        Some(
            self.checks
                .as_ref()
                .filter(|c| c.sha == sha)
                .map_or(CheckState::Pending, |c| c.state),
        )
    }

    /// A branch that turned red, or green again, since `before` (the
    /// first look tells nothing; going green the first time is not news).
    pub fn transition(&self, before: &BranchView) -> Option<BranchTransition> {
        let (was, now) = (before.state()?, self.state()?);
        match now {
            CheckState::Failure if was != CheckState::Failure => Some(BranchTransition::Red {
                failed: self
                    .checks
                    .iter()
                    .flat_map(|c| c.failed_names())
                    .map(str::to_string)
                    .collect(),
            }),
            CheckState::Success if was == CheckState::Failure => Some(BranchTransition::Green),
            _ => None,
        }
    }
}

/// A change of a branch worth a notification.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BranchTransition {
    /// Its tip's checks failed; the names of those that did.
    Red {
        /// The failed checks.
        failed: Vec<String>,
    },
    /// Green again after red.
    Green,
}

/// One branch followed: its tip read conditionally, then its tip's checks.
#[derive(Debug)]
pub struct BranchWatch {
    view: BranchView,
    etag: Option<String>,
    expect: Option<Expectations>,
    checks: Option<ChecksWatch>,
    reads: u32,
}

impl BranchWatch {
    /// Follows `branch` of `repo`.
    pub fn new(repo: GithubRepo, branch: &str, default: bool) -> Self {
        BranchWatch {
            view: BranchView {
                repo,
                branch: branch.to_string(),
                default,
                sha: None,
                checks: None,
            },
            etag: None,
            expect: None,
            checks: None,
            reads: 0,
        }
    }

    /// The branch as last seen.
    pub fn view(&self) -> &BranchView {
        &self.view
    }

    /// Requests the last poll made.
    pub fn reads(&self) -> u32 {
        self.reads
    }

    /// Reads the tip, then its checks; `true` when anything changed.
    pub async fn poll(&mut self, client: &GithubClient) -> Result<bool, GithubError> {
        let repo = &self.view.repo;
        let path = format!(
            "/repos/{}/{}/branches/{}",
            repo.owner,
            repo.name,
            crate::github::pulls::encode(&self.view.branch)
        );
        self.reads = 1;
        let before = self.view.clone();
        match client.get_json::<Value>(&path, self.etag.as_deref()).await {
            Ok(Fetched::Changed { value, etag, .. }) => {
                self.etag = etag;
                let sha = value["commit"]["sha"].as_str().map(str::to_string);
                if sha != self.view.sha {
                    self.view.sha = sha;
                    self.checks = None;
                }
            }
            Ok(Fetched::Unchanged) => {}
            // A branch GitHub does not have (not pushed yet, deleted).
            Err(GithubError::NotFound { .. }) => {
                self.etag = None;
                self.view.sha = None;
                self.view.checks = None;
                self.checks = None;
                return Ok(self.view != before);
            }
            Err(e) => return Err(e),
        }
        let Some(sha) = self.view.sha.clone() else {
            return Ok(self.view != before);
        };
        if self.expect.is_none() {
            let expect = client
                .expectations(&self.view.repo, &self.view.branch, &sha)
                .await?;
            self.expect = Some(expect);
        }
        let watch = self.checks.get_or_insert_with(|| {
            ChecksWatch::new(
                self.view.repo.clone(),
                &sha,
                self.expect.clone().unwrap_or_default(),
            )
        });
        let fresh = watch.poll(client).await;
        self.reads += watch.reads();
        if let Some(rollup) = fresh? {
            self.view.checks = Some(rollup);
        }
        Ok(self.view != before)
    }

    /// How long to wait before the next poll.
    pub fn interval(&self, client: &GithubClient) -> Duration {
        match &self.checks {
            Some(watch) => watch.interval(client),
            None => WHEN_IDLE.min(client.until_reset().max(WHILE_RUNNING)),
        }
    }
}

/// What the radar tells its front end.
#[derive(Debug, Clone, PartialEq)]
pub struct RadarEvent {
    /// The project folder.
    pub path: PathBuf,
    /// Its branches as they stand.
    pub branches: Vec<BranchView>,
    /// A branch that turned red or green again, with its name.
    pub transition: Option<(BranchView, BranchTransition)>,
}

type Sink = Arc<dyn Fn(RadarEvent) + Send + Sync>;

struct Task {
    branches: Vec<String>,
    _stop: DropGuard,
}

/// The radar of a long-lived front end: one task per project folder.
pub struct Radar {
    tasks: Mutex<HashMap<PathBuf, Task>>,
    views: Arc<Mutex<HashMap<PathBuf, Vec<BranchView>>>>,
    sink: Sink,
    budget: Budget,
    stop: CancellationToken,
}

impl std::fmt::Debug for Radar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Radar").finish_non_exhaustive()
    }
}

impl Drop for Radar {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Radar {
    /// A radar that tells `sink` what changes, within `budget` (the one
    /// the front end's followed pull requests share).
    pub fn new(budget: Budget, sink: impl Fn(RadarEvent) + Send + Sync + 'static) -> Self {
        Radar {
            tasks: Mutex::new(HashMap::new()),
            views: Arc::new(Mutex::new(HashMap::new())),
            sink: Arc::new(sink),
            budget,
            stop: CancellationToken::new(),
        }
    }

    /// Follows `project`'s default branch and its checked-out branch
    /// (when another one); a project already followed on the same
    /// branches is left as it is.
    pub fn watch(&self, path: &Path, project: &Project) {
        let default = project.info.default_branch.clone();
        let mut branches = vec![default.clone()];
        if let Some(current) = project.branch.branch.clone().filter(|b| *b != default) {
            branches.push(current);
        }
        let Ok(mut tasks) = self.tasks.lock() else {
            return;
        };
        if tasks.get(path).is_some_and(|t| t.branches == branches) {
            return;
        }
        let stop = self.stop.child_token();
        let watches = branches
            .iter()
            .map(|b| BranchWatch::new(project.repo.clone(), b, *b == default))
            .collect();
        tasks.insert(
            path.to_path_buf(),
            Task {
                branches,
                _stop: stop.clone().drop_guard(),
            },
        );
        let task = RadarTask {
            path: path.to_path_buf(),
            key: path.join(".slipway-radar"),
            client: project.client.clone(),
            watches,
            views: self.views.clone(),
            sink: self.sink.clone(),
            budget: self.budget.clone(),
            stop,
        };
        tokio::spawn(task.run());
    }

    /// Stops following `path`'s branches.
    pub fn unwatch(&self, path: &Path) {
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.remove(path);
        }
        if let Ok(mut views) = self.views.lock() {
            views.remove(path);
        }
    }

    /// `path`'s branches as last seen.
    pub fn branches(&self, path: &Path) -> Vec<BranchView> {
        self.views
            .lock()
            .ok()
            .and_then(|v| v.get(path).cloned())
            .unwrap_or_default()
    }
}

struct RadarTask {
    path: PathBuf,
    /// Its key in the budget (apart from the project's pull request).
    key: PathBuf,
    client: GithubClient,
    watches: Vec<BranchWatch>,
    views: Arc<Mutex<HashMap<PathBuf, Vec<BranchView>>>>,
    sink: Sink,
    budget: Budget,
    stop: CancellationToken,
}

impl RadarTask {
    async fn run(mut self) {
        let mut pace = Pace::default();
        let mut first = true;
        loop {
            let wait = match self.look(first).await {
                Ok(wanted) => {
                    pace.answered();
                    first = false;
                    let cost = self.watches.iter().map(BranchWatch::reads).sum::<u32>();
                    let demand = Demand {
                        cost: cost.max(1),
                        wanted,
                        eager: false,
                    };
                    self.budget.next(&self.key, demand)
                }
                Err(error) => match pace.failed(&error, &self.client) {
                    AfterFailure::Retry { wait, .. } => wait,
                    AfterFailure::Stop => {
                        tracing::warn!(path = %self.path.display(), "the radar stops: {}", error.problem().message);
                        break;
                    }
                },
            };
            if !pause(wait, &self.stop).await {
                break;
            }
        }
        self.budget.leave(&self.key);
    }

    /// Polls each branch; tells what changed. The wait its pace asks.
    async fn look(&mut self, first: bool) -> Result<Duration, GithubError> {
        let mut changed = first;
        let mut transition = None;
        for watch in &mut self.watches {
            let before = watch.view().clone();
            if watch.poll(&self.client).await? {
                changed = true;
                if let Some(t) = watch.view().transition(&before) {
                    transition = Some((watch.view().clone(), t));
                }
            }
        }
        let branches: Vec<BranchView> = self.watches.iter().map(|w| w.view().clone()).collect();
        if let Ok(mut views) = self.views.lock() {
            views.insert(self.path.clone(), branches.clone());
        }
        if changed {
            (self.sink)(RadarEvent {
                path: self.path.clone(),
                branches,
                transition,
            });
        }
        Ok(self
            .watches
            .iter()
            .map(|w| w.interval(&self.client))
            .min()
            .unwrap_or(WHEN_IDLE))
    }
}

/// A pull request with its checks and reviews.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullSummary {
    /// The pull request.
    pub pull: PullRequest,
    /// Its head's checks.
    pub checks: ChecksRollup,
    /// Its reviews.
    pub reviews: Reviews,
}

/// One project's branches and open pull requests.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectStatus {
    /// The project folder.
    pub path: PathBuf,
    /// Its name.
    pub name: String,
    /// Its repository, when it is on GitHub.
    pub repo: Option<GithubRepo>,
    /// Its default branch, then the checked-out one when another.
    pub branches: Vec<BranchView>,
    /// Its repository's open pull requests, newest first.
    pub pulls: Vec<PullSummary>,
    /// Why it could not be read.
    pub problem: Option<Problem>,
}

/// One look at each project folder's branches and open pull requests (a
/// repository shared by two folders is read once, for the first).
pub async fn status(dirs: &[PathBuf], accounts: &AccountStore) -> Vec<ProjectStatus> {
    let mut all: Vec<ProjectStatus> = Vec::new();
    for dir in dirs {
        let name = crate::config::default_name(dir);
        let read = async {
            let project = Project::open(dir, accounts).await?;
            let seen = all.iter().any(|p| p.repo.as_ref() == Some(&project.repo));
            let default = project.info.default_branch.clone();
            let mut names = vec![default.clone()];
            if let Some(current) = project.branch.branch.clone().filter(|b| *b != default) {
                names.push(current);
            }
            let mut branches = Vec::new();
            for name in names {
                let watch = crate::flow::follower::retrying(&project.client, async || {
                    let mut watch = BranchWatch::new(project.repo.clone(), &name, name == default);
                    watch.poll(&project.client).await.map(|_| watch)
                })
                .await?;
                branches.push(watch.view().clone());
            }
            let mut pulls = Vec::new();
            if !seen {
                for pull in project.client.open_pulls(&project.repo).await? {
                    let (checks, reviews) = project.pull_status(&pull).await?;
                    pulls.push(PullSummary {
                        pull,
                        checks,
                        reviews,
                    });
                }
            }
            Ok::<_, Problem>((project.repo, branches, pulls))
        }
        .await;
        all.push(match read {
            Ok((repo, branches, pulls)) => ProjectStatus {
                path: dir.clone(),
                name,
                repo: Some(repo),
                branches,
                pulls,
                problem: None,
            },
            Err(problem) => ProjectStatus {
                path: dir.clone(),
                name,
                repo: None,
                branches: Vec::new(),
                pulls: Vec::new(),
                problem: Some(problem),
            },
        });
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(sha: Option<&str>, state: Option<CheckState>) -> BranchView {
        BranchView {
            repo: GithubRepo {
                host: "github.com".into(),
                owner: "octo".into(),
                name: "cities".into(),
            },
            branch: "master".into(),
            default: true,
            sha: sha.map(str::to_string),
            checks: state.map(|state| ChecksRollup::one_status(sha.unwrap_or_default(), state)),
        }
    }

    #[test]
    fn a_branch_turning_red_and_green_again_is_told_once_each() {
        let green = view(Some("a"), Some(CheckState::Success));
        let pending = view(Some("b"), Some(CheckState::Pending));
        let red = view(Some("b"), Some(CheckState::Failure));
        let unread = view(None, None);
        assert_eq!(
            green.transition(&unread),
            None,
            "the first look is not news"
        );
        assert_eq!(pending.transition(&green), None);
        assert_eq!(
            red.transition(&pending),
            Some(BranchTransition::Red {
                failed: vec!["ci/circleci: build".into()]
            })
        );
        assert_eq!(red.transition(&red), None);
        let fixed = view(Some("c"), Some(CheckState::Success));
        assert_eq!(fixed.transition(&red), Some(BranchTransition::Green));
        assert_eq!(
            fixed.transition(&pending),
            None,
            "green after pending is not news"
        );
        assert_eq!(view(Some("a"), None).state(), Some(CheckState::Pending));
        assert_eq!(unread.state(), None);
    }
}
