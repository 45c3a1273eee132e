//! Deploy after merge: once a pull request merged (by Slipway, GitHub's
//! auto-merge or someone on github.com), the merge commit is followed on
//! its branch and, when green, deployed through the trigger declared with
//! `after-merge = true`. A red merge commit is told, never deployed. The
//! gate and the once-per-commit claim apply as for any deploy, so the
//! window and the CLI following the same merge deploy it once.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::{DeployTrigger, Pipeline};
use crate::flow::Project;
use crate::flow::follower::{ChecksNews, FollowNote, Stopped, finished, follow_checks};
use crate::github::checks::{CheckState, ChecksRollup};

use super::{Origin, Outcome, Request, Stores};

/// How long a merge commit may take to go green.
pub const WAIT_FOR_GREEN: Duration = Duration::from_secs(3600);

/// What following a merge commit tells as it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum AfterMergeEvent {
    /// The merge commit is being followed until its checks finish.
    Waiting {
        /// The trigger that will fire.
        trigger: String,
        /// The branch it is on.
        branch: String,
        /// The merge commit.
        sha: String,
    },
    /// Its checks changed.
    Checks(ChecksRollup),
    /// GitHub went away or came back.
    Note(FollowNote),
}

/// How a deploy after merge ended.
#[derive(Debug)]
pub enum AfterMerge {
    /// The project declares no after-merge trigger for that branch.
    NoTrigger,
    /// The merge commit went green and the trigger was fired (or refused:
    /// already deployed, no longer the tip).
    Fired(Outcome),
    /// The merge commit's checks failed: not deployed.
    Red {
        /// The merge commit.
        sha: String,
        /// Its branch.
        branch: String,
        /// The checks that failed.
        failed: Vec<String>,
    },
    /// It did not finish its checks within [`WAIT_FOR_GREEN`].
    TimedOut {
        /// The merge commit.
        sha: String,
    },
}

/// The trigger that deploys merges into `base`, if the pipeline has one.
pub fn trigger_for<'a>(
    project: &Project,
    pipeline: &'a Pipeline,
    base: &str,
) -> Option<&'a DeployTrigger> {
    pipeline.deploys.iter().find(|d| {
        d.after_merge && d.branch.as_deref().unwrap_or(&project.info.default_branch) == base
    })
}

/// A merge commit on the branch it went into.
#[derive(Debug, Clone, Copy)]
pub struct MergeCommit<'a> {
    /// The branch.
    pub base: &'a str,
    /// The commit.
    pub sha: &'a str,
}

/// Follows the merge commit on its branch and deploys it when green through
/// the pipeline's after-merge trigger.
pub async fn after_merge(
    project: &Project,
    pipeline: &Pipeline,
    merge: MergeCommit<'_>,
    stores: Stores<'_>,
    cancel: &CancellationToken,
    mut on_event: impl FnMut(AfterMergeEvent),
) -> Result<AfterMerge, Stopped> {
    let MergeCommit {
        base,
        sha: merge_sha,
    } = merge;
    let Some(trigger) = trigger_for(project, pipeline, base) else {
        return Ok(AfterMerge::NoTrigger);
    };
    on_event(AfterMergeEvent::Waiting {
        trigger: trigger.name.clone(),
        branch: base.to_string(),
        sha: merge_sha.to_string(),
    });
    let expect = project
        .expectations(base, merge_sha)
        .await
        .map_err(Stopped::Failed)?;
    let followed = tokio::time::timeout(
        WAIT_FOR_GREEN,
        follow_checks(
            &project.client,
            &project.repo,
            merge_sha,
            expect,
            cancel,
            |news| {
                on_event(match news {
                    ChecksNews::Changed(rollup) => AfterMergeEvent::Checks(rollup.clone()),
                    ChecksNews::Note(note) => AfterMergeEvent::Note(note),
                })
            },
            finished,
        ),
    )
    .await;
    let rollup = match followed {
        Err(_) => {
            return Ok(AfterMerge::TimedOut {
                sha: merge_sha.to_string(),
            });
        }
        Ok(rollup) => rollup?,
    };
    if rollup.state == CheckState::Failure {
        return Ok(AfterMerge::Red {
            sha: merge_sha.to_string(),
            branch: base.to_string(),
            failed: rollup
                .failed_names()
                .into_iter()
                .map(str::to_string)
                .collect(),
        });
    }
    let request = Request {
        trigger: Some(trigger.name.clone()),
        sha: Some(merge_sha.to_string()),
        force: false,
        again: false,
        origin: Origin::AfterMerge,
    };
    let outcome = super::deploy(project, pipeline, &request, stores, cancel, |step| {
        tracing::info!("{step}")
    })
    .await
    .map_err(Stopped::Failed)?;
    Ok(AfterMerge::Fired(outcome))
}
