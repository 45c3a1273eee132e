//! Following a project's pull request: what a front end shows of it (the
//! pull request, its head's checks, whether it is armed) and the changes
//! worth telling the user about, once each.

use serde::{Deserialize, Serialize};

use crate::github::GithubRepo;
use crate::github::checks::{CheckState, ChecksRollup};
use crate::github::pulls::{PullRequest, PullState};

use super::armed::Armed;

/// A pull request as a front end shows it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullView {
    /// Its repository.
    pub repo: GithubRepo,
    /// The pull request.
    pub pull: PullRequest,
    /// Its head's checks, once read.
    pub checks: Option<ChecksRollup>,
    /// Armed to merge when green.
    pub armed: Option<Armed>,
    /// The last thing to know that is not in the above: why it was
    /// disarmed, why a merge failed, that GitHub is unreachable.
    pub note: Option<String>,
}

/// A change worth one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// The head's checks all passed.
    Green,
    /// A check of the head failed; the names of those that did.
    Red(Vec<String>),
    /// Merged into its base branch.
    Merged,
    /// Closed without merging.
    Closed,
}

impl PullView {
    /// Where it stands in one word-sized state, for icons: pending while
    /// open and not finished, then the checks' result; `None` once it is
    /// merged or closed.
    pub fn state(&self) -> Option<CheckState> {
        if self.pull.state != PullState::Open {
            return None;
        }
        Some(
            self.checks
                .as_ref()
                .filter(|c| c.sha == self.pull.head_sha)
                .map_or(CheckState::Pending, |c| c.state),
        )
    }

    /// What changed since `before` that the user should hear about. The
    /// first look (no `before`) tells nothing: it is not a change.
    pub fn transition(&self, before: &PullView) -> Option<Transition> {
        match (before.pull.state, self.pull.state) {
            (PullState::Open, PullState::Merged) => return Some(Transition::Merged),
            (PullState::Open, PullState::Closed) => return Some(Transition::Closed),
            (_, PullState::Open) => {}
            _ => return None,
        }
        let now = self.state()?;
        let same_head = before.pull.head_sha == self.pull.head_sha;
        if same_head && before.state() == Some(now) {
            return None;
        }
        match now {
            CheckState::Pending => None,
            CheckState::Success => Some(Transition::Green),
            CheckState::Failure => Some(Transition::Red(
                self.checks
                    .iter()
                    .flat_map(|c| c.failed_names())
                    .map(str::to_string)
                    .collect(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::checks::{Check, CheckSource};

    fn view(sha: &str, state: PullState, checks: Option<CheckState>) -> PullView {
        PullView {
            repo: GithubRepo {
                host: "github.com".into(),
                owner: "octo".into(),
                name: "cities".into(),
            },
            pull: PullRequest {
                number: 12,
                title: "List cities".into(),
                state,
                draft: false,
                head_ref: "feature/cities".into(),
                head_sha: sha.into(),
                base_ref: "master".into(),
                url: String::new(),
                mergeable: None,
                node_id: String::new(),
                auto_merge: false,
            },
            checks: checks.map(|state| ChecksRollup {
                sha: sha.into(),
                state,
                checks: vec![Check {
                    name: "ci/circleci: build".into(),
                    state,
                    source: CheckSource::Status,
                    detail: None,
                    duration_ms: None,
                    url: None,
                }],
            }),
            armed: None,
            note: None,
        }
    }

    #[test]
    fn each_change_is_told_once() {
        let open = PullState::Open;
        let pending = view("a", open, Some(CheckState::Pending));
        let green = view("a", open, Some(CheckState::Success));
        let red = view("a", open, Some(CheckState::Failure));
        assert_eq!(green.transition(&pending), Some(Transition::Green));
        assert_eq!(green.transition(&green), None, "no second notice");
        assert_eq!(
            red.transition(&pending),
            Some(Transition::Red(vec!["ci/circleci: build".into()]))
        );
        assert_eq!(pending.transition(&green), None, "a re-run is not news");
        // A new head that is green at once is news of its own.
        let new_green = view("b", open, Some(CheckState::Success));
        assert_eq!(new_green.transition(&green), Some(Transition::Green));
        let merged = view("a", PullState::Merged, None);
        assert_eq!(merged.transition(&green), Some(Transition::Merged));
        assert_eq!(merged.transition(&merged), None);
        assert_eq!(merged.state(), None);
        // Checks of another commit do not count for the head.
        let mut stale = view("b", open, Some(CheckState::Success));
        stale.checks.as_mut().unwrap().sha = "a".into();
        assert_eq!(stale.state(), Some(CheckState::Pending));
    }
}
