//! Publish: the preflight (the local pipeline, recorded), the push and the
//! pull request opened or found, as one operation both front ends run.
//! The preflight tests exactly the commit that is pushed: with uncommitted
//! changes in the working tree it runs in a temporary worktree of HEAD,
//! and the user's files are not touched.

use crate::config::Pipeline;
use crate::github::pulls::PullRequest;
use crate::{ErrorCode, Problem};

use super::Project;

/// What to publish, and how.
#[derive(Debug, Clone, Default)]
pub struct PublishOptions {
    /// The branch to merge into (default: the repository's default branch).
    pub base: Option<String>,
    /// The pull request's title (default: from the commits).
    pub title: Option<String>,
    /// Its body (default: from the commits).
    pub body: Option<String>,
    /// Open it as a draft.
    pub draft: bool,
    /// Run the pipeline before the push (when the project has one).
    pub preflight: bool,
    /// Push even when the preflight fails.
    pub push_anyway: bool,
    /// Tell GitHub the preflight's result, as the commit status
    /// `slipway/preflight` on the pushed head, for reviewers to see.
    pub publish_preflight: bool,
}

/// Where a publish is, for a front end to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishEvent {
    /// Files with uncommitted changes: they are not pushed, and the
    /// preflight runs on the commit without them.
    Uncommitted {
        /// How many.
        files: u32,
    },
    /// The preflight starts, on `commit`; `worktree` when it runs in a
    /// temporary worktree instead of the project's folder.
    Preflight {
        /// The commit tested.
        commit: String,
        /// Whether it runs in a temporary worktree.
        worktree: bool,
    },
    /// The preflight failed and the push goes on as asked.
    PushingAnyway,
    /// The branch is being pushed.
    Pushing {
        /// The branch.
        branch: String,
    },
    /// A line of git's progress.
    PushProgress(String),
    /// The preflight's result is on GitHub as the commit status
    /// [`PREFLIGHT_CONTEXT`].
    PreflightPublished {
        /// Whether it passed.
        passed: bool,
    },
    /// GitHub did not take the preflight's result; the publish goes on.
    PreflightNotPublished {
        /// What GitHub answered.
        reason: String,
    },
    /// The pull request is being opened (or found).
    Opening,
}

/// The context of the commit status that publishes a preflight.
pub const PREFLIGHT_CONTEXT: &str = "slipway/preflight";

/// How a publish ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// Pushed, and this pull request opened.
    Opened(PullRequest),
    /// Pushed; this pull request was already open for the branch.
    AlreadyOpen(PullRequest),
    /// The preflight failed: nothing was pushed.
    PreflightFailed,
}

impl Project {
    /// Publishes the checked-out branch: the preflight (through `preflight`,
    /// which runs and records a pipeline and says whether it passed), the
    /// push with its upstream, the pull request. `on_event` hears each step.
    pub async fn publish(
        &self,
        options: &PublishOptions,
        preflight: impl AsyncFnOnce(Pipeline) -> Result<bool, Problem>,
        mut on_event: impl FnMut(PublishEvent),
    ) -> Result<Published, Problem> {
        let branch = self.feature_branch()?.to_string();
        if self.branch.changed_files > 0 {
            on_event(PublishEvent::Uncommitted {
                files: self.branch.changed_files,
            });
        }
        let mut tested = None;
        if options.preflight && self.has_pipeline() {
            let passed = self.preflight(preflight, &mut on_event).await?;
            if !passed && !options.push_anyway {
                return Ok(Published::PreflightFailed);
            }
            if !passed {
                on_event(PublishEvent::PushingAnyway);
            }
            tested = Some(passed);
        }
        on_event(PublishEvent::Pushing {
            branch: branch.clone(),
        });
        let pushed = crate::git::push(&self.root, "origin", &branch, |line| {
            on_event(PublishEvent::PushProgress(line.to_string()))
        })
        .await;
        if let Err(e) = pushed {
            return Err(self.push_problem(&e).await);
        }
        if let (true, Some(passed), Some(commit)) = (
            options.publish_preflight,
            tested,
            self.branch.commit.as_deref(),
        ) {
            on_event(self.publish_preflight(commit, passed).await);
        }
        on_event(PublishEvent::Opening);
        let (pull, opened) = self
            .open_pull_request(
                options.base.as_deref(),
                options.title.clone(),
                options.body.clone(),
                options.draft,
            )
            .await?;
        Ok(match opened {
            true => Published::Opened(pull),
            false => Published::AlreadyOpen(pull),
        })
    }

    /// Why a push failed; refused credentials over https can come from the
    /// account signed in to Slipway.
    async fn push_problem(&self, error: &crate::git::PushError) -> Problem {
        let problem = error.problem();
        let https = crate::git::remote_url(&self.root)
            .await
            .is_some_and(|url| url.starts_with("https://"));
        match error.reason == crate::git::PushRejection::Authentication && https {
            true => problem.with_remedy(crate::error::Remedy::ServeGit {
                host: self.repo.host.clone(),
            }),
            false => problem,
        }
    }

    /// Puts the preflight's result on the pushed commit as a status.
    async fn publish_preflight(&self, commit: &str, passed: bool) -> PublishEvent {
        let status = crate::github::checks::NewStatus {
            state: if passed { "success" } else { "failure" },
            context: PREFLIGHT_CONTEXT,
            description: if passed {
                "The pipeline passed locally on this commit before the push (Slipway)"
            } else {
                "The pipeline failed locally on this commit; pushed anyway (Slipway)"
            },
        };
        match self.client.create_status(&self.repo, commit, &status).await {
            Ok(()) => PublishEvent::PreflightPublished { passed },
            Err(e) => PublishEvent::PreflightNotPublished {
                reason: e.problem().message,
            },
        }
    }

    /// Runs the preflight on HEAD as committed.
    async fn preflight(
        &self,
        run: impl AsyncFnOnce(Pipeline) -> Result<bool, Problem>,
        on_event: &mut impl FnMut(PublishEvent),
    ) -> Result<bool, Problem> {
        let commit = self.branch.commit.clone().ok_or_else(|| {
            Problem::new(ErrorCode::BadConfig, "the branch has no commit to push")
                .with_hint("Commit your changes first.")
        })?;
        let here = crate::project::pipeline(&self.root)?;
        if self.branch.changed_files == 0 {
            on_event(PublishEvent::Preflight {
                commit,
                worktree: false,
            });
            return run(here).await;
        }
        let project_name = here.project;
        let worktree = crate::git::Worktree::add(&self.root, &commit)
            .await
            .map_err(|e| e.problem())?;
        let mut pipeline = crate::project::pipeline(worktree.path()).map_err(|e| {
            let mut problem = e.problem();
            problem.message = format!("the commit to push ({commit:.7}): {}", problem.message);
            problem
        })?;
        pipeline.project = project_name;
        on_event(PublishEvent::Preflight {
            commit,
            worktree: true,
        });
        let passed = run(pipeline).await;
        drop(worktree);
        passed
    }
}
