//! Merge when green: pull requests the user armed, kept in a file in the
//! config folder so an armed merge outlives the app, and the rule that
//! decides, at each look at the checks, whether to merge, wait or disarm.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::github::GithubRepo;
use crate::github::checks::{CheckState, ChecksRollup};
use crate::github::pulls::{MergeMethod, PullRequest, PullState};
use crate::github::reviews::{ReviewDecision, ReviewerState, Reviews};
use crate::{ErrorCode, Problem};

/// The file, in the config folder.
pub const ARMED_FILE: &str = "armed-merges.json";

/// A pull request armed to merge when its checks pass.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Armed {
    /// The repository.
    pub repo: GithubRepo,
    /// The pull request's number.
    pub number: u64,
    /// The head commit the user armed it for: only this one is merged.
    pub sha: String,
    /// How to merge.
    pub method: MergeMethod,
    /// When it was armed (seconds since the Unix epoch).
    pub armed_at: u64,
    /// Whether GitHub's own auto-merge was enabled for it.
    #[serde(default)]
    pub auto_merge: bool,
}

/// What to do with an armed pull request after a look at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Its checks are still running.
    Wait,
    /// Its head's checks passed: merge it now.
    Merge,
    /// It will not be merged: disarm, and tell the user why.
    Disarm(DisarmReason),
    /// It was merged (by GitHub's auto-merge or by hand): nothing left to do.
    Done,
}

/// Why an armed pull request was disarmed.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DisarmReason {
    /// It was closed without merging.
    Closed,
    /// New commits were pushed: the head armed is not the head any more.
    HeadMoved {
        /// The new head.
        sha: String,
    },
    /// A check of the armed head failed.
    Red {
        /// The checks that failed.
        failed: Vec<String>,
    },
    /// A reviewer asked for changes.
    ChangesRequested {
        /// Who did.
        by: Vec<String>,
    },
    /// The merge was refused (conflicts, a rule of the branch).
    MergeRefused {
        /// What GitHub said.
        message: String,
    },
    /// The user disarmed it.
    ByUser,
}

impl std::fmt::Display for DisarmReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DisarmReason::Closed => f.write_str("it was closed"),
            DisarmReason::HeadMoved { sha } => write!(
                f,
                "new commits were pushed ({}); arm it again after checking them",
                crate::git::short_sha(sha)
            ),
            DisarmReason::Red { failed } if failed.is_empty() => f.write_str("its checks failed"),
            DisarmReason::Red { failed } => write!(f, "{} failed", failed.join(", ")),
            DisarmReason::ChangesRequested { by } => {
                write!(f, "changes were requested by {}", by.join(", "))
            }
            DisarmReason::MergeRefused { message } => write!(f, "could not merge: {message}"),
            DisarmReason::ByUser => f.write_str("disarmed"),
        }
    }
}

/// Decides for `armed`, given the pull request, its head's checks and its
/// reviews as just read. Only a green rollup of the armed commit with the
/// approvals its base requires merges; a request for changes disarms.
pub fn decide(
    armed: &Armed,
    pull: &PullRequest,
    checks: Option<&ChecksRollup>,
    reviews: Option<&Reviews>,
) -> Decision {
    match pull.state {
        PullState::Merged => return Decision::Done,
        PullState::Closed => return Decision::Disarm(DisarmReason::Closed),
        PullState::Open => {}
    }
    if pull.head_sha != armed.sha {
        return Decision::Disarm(DisarmReason::HeadMoved {
            sha: pull.head_sha.clone(),
        });
    }
    if let Some(reviews) = reviews
        && reviews.decision == ReviewDecision::ChangesRequested
    {
        return Decision::Disarm(DisarmReason::ChangesRequested {
            by: reviews
                .by(ReviewerState::ChangesRequested)
                .into_iter()
                .map(str::to_string)
                .collect(),
        });
    }
    let Some(checks) = checks.filter(|c| c.sha == armed.sha) else {
        return Decision::Wait;
    };
    let approved = reviews.is_none_or(|r| r.waiting_for.is_none());
    match checks.state {
        CheckState::Pending => Decision::Wait,
        // GitHub's auto-merge merges it: wait to see it merged.
        CheckState::Success if armed.auto_merge || !approved => Decision::Wait,
        CheckState::Success => Decision::Merge,
        CheckState::Failure => Decision::Disarm(DisarmReason::Red {
            failed: checks
                .failed_names()
                .into_iter()
                .map(str::to_string)
                .collect(),
        }),
    }
}

/// The armed pull requests, in one small JSON file.
#[derive(Debug, Clone)]
pub struct ArmedMerges {
    file: PathBuf,
}

impl ArmedMerges {
    /// The user's, in the config folder.
    pub fn open_default() -> Result<Self, Problem> {
        let dir = crate::paths::config_dir().ok_or_else(|| {
            Problem::new(ErrorCode::Io, "no config folder for armed merges")
                .with_hint("Set HOME or SLIPWAY_CONFIG_DIR.")
        })?;
        Ok(Self::at(&dir.join(ARMED_FILE)))
    }

    /// Kept in `file`.
    pub fn at(file: &Path) -> Self {
        ArmedMerges {
            file: file.to_path_buf(),
        }
    }

    /// Every armed pull request. A missing file is none; a damaged one is
    /// none too (it is rewritten at the next change), with a warning.
    pub fn list(&self) -> Vec<Armed> {
        match std::fs::read(&self.file) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(file = %self.file.display(), error = %e, "armed merges unreadable");
                Vec::new()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                tracing::warn!(file = %self.file.display(), error = %e, "armed merges unreadable");
                Vec::new()
            }
        }
    }

    /// The armed entry for a pull request, if any.
    pub fn find(&self, repo: &GithubRepo, number: u64) -> Option<Armed> {
        self.list()
            .into_iter()
            .find(|a| &a.repo == repo && a.number == number)
    }

    /// Arms a pull request (replacing an earlier arming of it).
    pub fn arm(&self, armed: Armed) -> Result<(), Problem> {
        let mut all = self.list();
        all.retain(|a| !(a.repo == armed.repo && a.number == armed.number));
        all.push(armed);
        self.save(&all)
    }

    /// Disarms a pull request; `true` when it was armed.
    pub fn disarm(&self, repo: &GithubRepo, number: u64) -> Result<bool, Problem> {
        let mut all = self.list();
        let before = all.len();
        all.retain(|a| !(&a.repo == repo && a.number == number));
        if all.len() == before {
            return Ok(false);
        }
        self.save(&all)?;
        Ok(true)
    }

    fn save(&self, all: &[Armed]) -> Result<(), Problem> {
        let bytes = serde_json::to_vec_pretty(all)
            .map_err(|e| Problem::new(ErrorCode::Io, format!("armed merges: {e}")))?;
        crate::paths::write_atomic(&self.file, &bytes).map_err(|e| {
            Problem::new(
                ErrorCode::Io,
                format!("could not save {}: {e}", self.file.display()),
            )
            .with_hint("Check that the config folder is writable.")
        })
    }
}

/// Seconds since the Unix epoch, for `armed_at`.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> GithubRepo {
        GithubRepo {
            host: "github.com".into(),
            owner: "octo".into(),
            name: "cities".into(),
        }
    }

    fn pull(sha: &str, state: PullState) -> PullRequest {
        PullRequest {
            number: 12,
            title: "List cities".into(),
            state,
            draft: false,
            head_ref: "feature/cities".into(),
            head_sha: sha.into(),
            base_ref: "master".into(),
            url: "https://github.com/octo/cities/pull/12".into(),
            mergeable: Some(true),
            node_id: String::new(),
            auto_merge: false,
            merge_sha: None,
            requested_reviewers: Vec::new(),
        }
    }

    fn armed(sha: &str) -> Armed {
        Armed {
            repo: repo(),
            number: 12,
            sha: sha.into(),
            method: MergeMethod::Squash,
            armed_at: 1,
            auto_merge: false,
        }
    }

    fn checks(sha: &str, state: CheckState) -> ChecksRollup {
        ChecksRollup::one_status(sha, state)
    }

    fn reviews(decision: ReviewDecision, waiting_for: Option<&str>) -> Reviews {
        Reviews {
            decision,
            reviewers: vec![crate::github::reviews::Reviewer {
                login: "bob".into(),
                state: ReviewerState::ChangesRequested,
            }],
            approvals: 0,
            required: 1,
            unresolved_threads: None,
            waiting_for: waiting_for.map(str::to_string),
        }
    }

    #[test]
    fn required_approvals_are_waited_for_and_changes_requested_disarm() {
        let a = armed("aaa");
        let open = pull("aaa", PullState::Open);
        let green = checks("aaa", CheckState::Success);
        let waiting = reviews(
            ReviewDecision::ReviewRequired,
            Some("waiting for 1 approving review"),
        );
        assert_eq!(
            decide(&a, &open, Some(&green), Some(&waiting)),
            Decision::Wait
        );
        let approved = reviews(ReviewDecision::Approved, None);
        assert_eq!(
            decide(&a, &open, Some(&green), Some(&approved)),
            Decision::Merge
        );
        let refused = reviews(ReviewDecision::ChangesRequested, None);
        let Decision::Disarm(why) = decide(&a, &open, None, Some(&refused)) else {
            panic!("changes requested disarms");
        };
        assert_eq!(why.to_string(), "changes were requested by bob");
    }

    #[test]
    fn only_the_armed_commit_going_green_merges() {
        let a = armed("aaa");
        let open = pull("aaa", PullState::Open);
        assert_eq!(decide(&a, &open, None, None), Decision::Wait);
        assert_eq!(
            decide(&a, &open, Some(&checks("aaa", CheckState::Pending)), None),
            Decision::Wait
        );
        assert_eq!(
            decide(&a, &open, Some(&checks("aaa", CheckState::Success)), None),
            Decision::Merge
        );
        // Green checks of another commit never merge this one.
        assert_eq!(
            decide(&a, &open, Some(&checks("bbb", CheckState::Success)), None),
            Decision::Wait
        );
        let Decision::Disarm(why) =
            decide(&a, &open, Some(&checks("aaa", CheckState::Failure)), None)
        else {
            panic!("a red check disarms");
        };
        assert!(
            why.to_string().contains("ci/circleci: build failed"),
            "{why}"
        );
        let moved = pull("bbb", PullState::Open);
        let Decision::Disarm(why) =
            decide(&a, &moved, Some(&checks("bbb", CheckState::Success)), None)
        else {
            panic!("a new push disarms");
        };
        assert!(why.to_string().contains("new commits"), "{why}");
        assert_eq!(
            decide(&a, &pull("aaa", PullState::Merged), None, None),
            Decision::Done
        );
        // With GitHub's auto-merge on, GitHub merges: Slipway waits to see it.
        let auto = Armed {
            auto_merge: true,
            ..armed("aaa")
        };
        assert_eq!(
            decide(
                &auto,
                &open,
                Some(&checks("aaa", CheckState::Success)),
                None
            ),
            Decision::Wait
        );
        assert!(matches!(
            decide(&auto, &moved, None, None),
            Decision::Disarm(_)
        ));
    }

    #[test]
    fn arming_survives_a_restart_and_disarming_forgets() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(ARMED_FILE);
        ArmedMerges::at(&file).arm(armed("aaa")).unwrap();
        ArmedMerges::at(&file).arm(armed("bbb")).unwrap();
        let again = ArmedMerges::at(&file);
        assert_eq!(again.list(), vec![armed("bbb")]);
        assert_eq!(again.find(&repo(), 12), Some(armed("bbb")));
        assert!(again.disarm(&repo(), 12).unwrap());
        assert!(!again.disarm(&repo(), 12).unwrap());
        assert!(ArmedMerges::at(&file).list().is_empty());
        std::fs::write(&file, b"{not json").unwrap();
        assert!(ArmedMerges::at(&file).list().is_empty());
    }
}
