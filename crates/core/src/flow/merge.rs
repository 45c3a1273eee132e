//! Merging a pull request from a project: only the head commit the user
//! saw, after GitHub has worked out whether it can be merged.

use std::time::Duration;

use crate::github::pulls::{MergeMethod, MergeOutcome, PullRequest};
use crate::{ErrorCode, Problem};

use super::Project;
use super::armed::{Armed, ArmedMerges, now_secs};

/// How long to wait between asks while GitHub works out mergeability.
const MERGEABLE_WAITS: [u64; 4] = [1, 2, 4, 8];

impl Project {
    /// Merges `pull` as the user saw it (its `head_sha`). Returns the merge
    /// commit on the base branch. A merge GitHub or the guard refuses (head
    /// moved, conflicts, required checks, a draft) is a [`ErrorCode::Conflict`]
    /// problem saying what to do; nothing is merged then.
    pub async fn merge(&self, pull: &PullRequest, method: MergeMethod) -> Result<String, Problem> {
        let mut seen = pull.clone();
        for wait in MERGEABLE_WAITS {
            let fresh = self.client.pull(&self.repo, pull.number).await?;
            if fresh.head_sha != pull.head_sha {
                return Err(head_moved(pull.number, &fresh.head_sha));
            }
            seen = fresh;
            if seen.mergeable.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
        if seen.mergeable == Some(false) {
            return Err(conflicts(&seen));
        }
        let outcome = self
            .client
            .merge(&self.repo, seen.number, &seen.head_sha, method)
            .await?;
        match outcome {
            MergeOutcome::Merged { sha } => Ok(sha),
            MergeOutcome::HeadMoved { message } => Err(Problem::new(
                ErrorCode::Conflict,
                format!("#{} was not merged: {message}", seen.number),
            )
            .with_hint("Someone pushed to the branch: check the new commits, then merge again.")),
            MergeOutcome::NotMergeable { message } => Err(Problem::new(
                ErrorCode::Conflict,
                format!("#{} cannot be merged: {message}", seen.number),
            )
            .with_hint(
                "Resolve conflicts or failing required checks (or mark the draft ready), then merge again.",
            )),
        }
    }
}

impl Project {
    /// Arms `seen` (its head as the user saw it) to merge when green, in
    /// the one armed-merges file: with GitHub's own auto-merge where the
    /// repository allows it (it merges even while Slipway is closed),
    /// Slipway's otherwise or when GitHub will not (already mergeable).
    pub async fn arm(
        &self,
        seen: &PullRequest,
        method: MergeMethod,
        store: &ArmedMerges,
    ) -> Result<Armed, Problem> {
        let auto_merge = self.info.allow_auto_merge
            && match self.client.set_auto_merge(seen, Some(method)).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::info!("GitHub's auto-merge not used: {}", e.problem().message);
                    false
                }
            };
        let armed = Armed {
            repo: self.repo.clone(),
            number: seen.number,
            sha: seen.head_sha.clone(),
            method,
            armed_at: now_secs(),
            auto_merge,
        };
        store.arm(armed.clone())?;
        Ok(armed)
    }

    /// Disarms `armed` (GitHub's auto-merge too, when arming turned it on).
    pub async fn disarm(
        &self,
        armed: &Armed,
        pull: &PullRequest,
        store: &ArmedMerges,
    ) -> Result<(), Problem> {
        if armed.auto_merge && pull.state == crate::github::pulls::PullState::Open {
            self.client.set_auto_merge(pull, None).await?;
        }
        store.disarm(&armed.repo, armed.number)?;
        Ok(())
    }
}

/// The head moved after the user looked: nothing unseen is merged.
pub fn head_moved(number: u64, new_sha: &str) -> Problem {
    Problem::new(
        ErrorCode::Conflict,
        format!(
            "#{number}'s head moved to {} since you looked; nothing was merged",
            crate::git::short_sha(new_sha)
        ),
    )
    .with_hint("Check the new commits, then merge again.")
}

/// A pull request GitHub finds conflicting with its base: nothing a wait
/// changes, the branch needs the base merged in.
fn conflicts(pull: &PullRequest) -> Problem {
    Problem::new(
        ErrorCode::Conflict,
        format!(
            "#{} has conflicts with {}, so it was not merged",
            pull.number, pull.base_ref
        ),
    )
    .with_hint(format!(
        "Merge {base} into {head} (or rebase it on {base}), resolve the conflicts and push; then merge again.",
        base = pull.base_ref,
        head = pull.head_ref
    ))
}
