//! Following a project's pull request: what a front end shows of it (the
//! pull request, its head's checks, whether it is armed), the changes
//! worth telling the user about, once each, and [`PullFollow`], the one
//! follower that reads it, acts on its arming and says when it merged,
//! whoever merged it.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::Problem;
use crate::github::GithubRepo;
use crate::github::checks::{CheckState, ChecksRollup};
use crate::github::pulls::{MergeMethod, PullRequest, PullState};
use crate::github::reviews::{ReviewDecision, ReviewerState, Reviews};
use crate::github::watch::PullWatch;

use super::Project;
use super::armed::{Armed, ArmedMerges, Decision, DisarmReason, decide};
use super::follower::{AfterFailure, FollowNote, Pace, Stopped, eager, pause};

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
    /// Its reviews, once read.
    #[serde(default)]
    pub reviews: Option<Reviews>,
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
    /// Approved; the approvers.
    Approved(Vec<String>),
    /// A reviewer asked for changes; who did.
    ChangesRequested(Vec<String>),
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

impl PullView {
    /// An approval or a request for changes that was not there before
    /// (the first read of the reviews tells nothing).
    pub fn review_transition(&self, before: &PullView) -> Option<Transition> {
        let now = self.reviews.as_ref()?;
        let was = before.reviews.as_ref().map(|r| r.decision);
        if was.is_none() || was == Some(now.decision) {
            return None;
        }
        let names = |state| now.by(state).into_iter().map(str::to_string).collect();
        match now.decision {
            ReviewDecision::Approved => Some(Transition::Approved(names(ReviewerState::Approved))),
            ReviewDecision::ChangesRequested => Some(Transition::ChangesRequested(names(
                ReviewerState::ChangesRequested,
            ))),
            _ => None,
        }
    }
}

/// What following a pull request tells.
#[derive(Debug, Clone, PartialEq)]
pub enum PullEvent {
    /// Its view changed: checks, state, arming or note.
    Changed {
        /// As it stands now.
        view: Box<PullView>,
        /// The change of its checks or state worth a notification, if any.
        transition: Option<Transition>,
        /// An approval or a request for changes, if one came.
        review: Option<Transition>,
        /// What happened to its arming, if anything.
        arming: Option<ArmingChange>,
    },
    /// GitHub went away or came back; the follower keeps going.
    Note(FollowNote),
    /// It was merged into `base` (by Slipway, GitHub's auto-merge or
    /// someone else) as `sha`.
    Merged {
        /// The branch it went into.
        base: String,
        /// The commit the merge made there.
        sha: String,
    },
}

/// What happened to a pull request's arming at a look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArmingChange {
    /// Its head went green and Slipway merged it.
    Merging {
        /// The merge commit.
        sha: String,
    },
    /// It will not be merged when green any more.
    Disarmed(DisarmReason),
}

/// One pull request followed: read with conditional requests at the pace
/// its checks (and an arming) call for, merged when armed and green,
/// disarmed on a new push or a red check. Both front ends follow through it.
#[derive(Debug)]
pub struct PullFollow {
    project: Project,
    watch: PullWatch,
    view: PullView,
    pace: Pace,
    store: ArmedMerges,
}

impl PullFollow {
    /// Starts following `pull` of `project`: its base's required checks,
    /// a first read, and its arming from `store`.
    pub async fn start(
        project: Project,
        pull: PullRequest,
        store: ArmedMerges,
    ) -> Result<Self, Problem> {
        let client = project.client.clone();
        let expect = project.expectations(&pull.base_ref, &pull.head_sha).await?;
        let mut watch = PullWatch::new(project.repo.clone(), pull, expect);
        let update = watch.poll(&client).await?;
        let armed = store.find(&project.repo, watch.pull().number);
        let view = PullView {
            repo: project.repo.clone(),
            pull: watch.pull().clone(),
            checks: update.checks,
            reviews: update.reviews,
            armed,
            note: None,
        };
        Ok(PullFollow {
            project,
            watch,
            view,
            pace: Pace::default(),
            store,
        })
    }

    /// The pull request as last seen.
    pub fn view(&self) -> &PullView {
        &self.view
    }

    /// The project it belongs to.
    pub fn project(&self) -> &Project {
        &self.project
    }

    /// Requests the last look made.
    pub fn reads(&self) -> u32 {
        self.watch.reads()
    }

    /// Whether GitHub could not be read at the last look.
    pub fn in_outage(&self) -> bool {
        self.pace.in_outage()
    }

    /// Whether there is nothing left to follow (merged or closed).
    pub fn finished(&self) -> bool {
        self.view.state().is_none()
    }

    /// How long until the next look: fast while checks run or someone
    /// waits for a merge, slower once done, backing off while GitHub is down.
    pub fn interval(&self) -> Duration {
        let interval = self.watch.interval(&self.project.client);
        if self.view.armed.is_some() {
            eager(interval)
        } else {
            interval
        }
    }

    /// One look: reads the pull request and its checks, acts on its
    /// arming; what to tell, and the wait before the next look. `Err` when
    /// GitHub said something no wait will change.
    pub async fn look(&mut self) -> Result<(Vec<PullEvent>, Duration), Problem> {
        let before = self.view.clone();
        let mut events = Vec::new();
        let client = self.project.client.clone();
        let update = match self.watch.poll(&client).await {
            Ok(update) => update,
            Err(error) => {
                return match self.pace.failed(&error, &client) {
                    AfterFailure::Retry { wait, tell } => {
                        if tell {
                            let problem = error.problem();
                            self.view.note = Some(format!(
                                "{}; still following, next look in {} s",
                                problem.message,
                                wait.as_secs()
                            ));
                            events.push(self.changed(&before, None));
                            events.push(PullEvent::Note(FollowNote::Outage {
                                problem,
                                retry_in: wait,
                            }));
                        }
                        Ok((events, wait))
                    }
                    AfterFailure::Stop => Err(error.problem()),
                };
            }
        };
        if self.pace.answered() {
            self.view.note = None;
            events.push(PullEvent::Note(FollowNote::Back));
        }
        if let Some(pull) = update.pull {
            self.view.pull = pull;
        }
        if let Some(checks) = update.checks {
            self.view.checks = Some(checks);
        }
        if let Some(reviews) = update.reviews {
            self.view.reviews = Some(reviews);
        }
        // The one armed-merges file: an arming by the other front end counts.
        self.view.armed = self.store.find(&self.project.repo, self.view.pull.number);
        let arming = self.act_on_arming().await;
        tracing::debug!(
            pull = self.view.pull.number,
            state = ?self.view.state(),
            checks = ?self.view.checks.as_ref().map(|c| (&c.sha, c.state)),
            head = %self.view.pull.head_sha,
            "looked at a pull request"
        );
        if self.view != before || arming.is_some() {
            events.push(self.changed(&before, arming.clone()));
        }
        // Green, then merged: two changes, each told once.
        if let Some(ArmingChange::Merging { sha }) = arming {
            let green = self.view.clone();
            self.merged(sha);
            events.push(self.changed(&green, None));
        }
        if before.pull.state == PullState::Open && self.view.pull.state == PullState::Merged {
            match self.view.pull.merge_sha.clone() {
                Some(sha) => events.push(PullEvent::Merged {
                    base: self.view.pull.base_ref.clone(),
                    sha,
                }),
                None => tracing::warn!(
                    pull = self.view.pull.number,
                    "merged, but GitHub named no merge commit"
                ),
            }
        }
        Ok((events, self.interval()))
    }

    fn changed(&self, before: &PullView, arming: Option<ArmingChange>) -> PullEvent {
        PullEvent::Changed {
            view: Box::new(self.view.clone()),
            transition: self.view.transition(before),
            review: self.view.review_transition(before),
            arming,
        }
    }

    /// Merges, keeps waiting or disarms an armed pull request.
    async fn act_on_arming(&mut self) -> Option<ArmingChange> {
        let armed = self.view.armed.clone()?;
        match decide(
            &armed,
            &self.view.pull,
            self.view.checks.as_ref(),
            self.view.reviews.as_ref(),
        ) {
            Decision::Wait => None,
            Decision::Done => {
                self.forget(&armed);
                None
            }
            Decision::Disarm(reason) => {
                if armed.auto_merge
                    && let Err(e) = self
                        .project
                        .client
                        .set_auto_merge(&self.view.pull, None)
                        .await
                {
                    tracing::warn!("GitHub's auto-merge stays on: {}", e.problem().message);
                }
                Some(self.disarmed(&armed, reason))
            }
            Decision::Merge => match self.project.merge(&self.view.pull, armed.method).await {
                Ok(sha) => {
                    self.forget(&armed);
                    Some(ArmingChange::Merging { sha })
                }
                Err(problem) => {
                    // Another follower (the CLI, the window) may have merged it.
                    if let Ok(fresh) = self
                        .project
                        .client
                        .pull(&self.project.repo, self.view.pull.number)
                        .await
                        && fresh.state == PullState::Merged
                    {
                        self.view.pull = fresh;
                        self.forget(&armed);
                        return None;
                    }
                    let reason = DisarmReason::MergeRefused {
                        message: problem.message,
                    };
                    Some(self.disarmed(&armed, reason))
                }
            },
        }
    }

    fn merged(&mut self, sha: String) {
        self.view.pull.state = PullState::Merged;
        self.view.pull.merge_sha = Some(sha.clone());
        self.view.note = Some(format!(
            "merged when green ({})",
            crate::git::short_sha(&sha)
        ));
    }

    fn disarmed(&mut self, armed: &Armed, reason: DisarmReason) -> ArmingChange {
        self.view.note = Some(format!("no longer armed: {reason}"));
        self.forget(armed);
        ArmingChange::Disarmed(reason)
    }

    fn forget(&mut self, armed: &Armed) {
        self.view.armed = None;
        if let Err(problem) = self.store.disarm(&armed.repo, armed.number) {
            tracing::warn!("{}", problem.message);
        }
    }

    /// Arms it to merge when green for `sha`, the head the user saw.
    pub async fn arm(&mut self, sha: &str, method: MergeMethod) -> Result<PullEvent, Problem> {
        let before = self.view.clone();
        let seen = PullRequest {
            head_sha: sha.to_string(),
            ..self.view.pull.clone()
        };
        let armed = self.project.arm(&seen, method, &self.store).await?;
        self.view.armed = Some(armed);
        self.view.note = None;
        Ok(self.changed(&before, None))
    }

    /// Disarms it (and GitHub's auto-merge, when arming turned it on).
    pub async fn disarm(&mut self) -> Result<PullEvent, Problem> {
        let before = self.view.clone();
        if let Some(armed) = self.view.armed.clone() {
            self.project
                .disarm(&armed, &self.view.pull, &self.store)
                .await?;
        }
        self.view.armed = None;
        self.view.note = None;
        Ok(self.changed(&before, Some(ArmingChange::Disarmed(DisarmReason::ByUser))))
    }

    /// Merges it now, guarded by the head the user saw; GitHub's refusal is
    /// an error and nothing is merged.
    pub async fn merge(
        &mut self,
        sha: &str,
        method: MergeMethod,
    ) -> Result<Vec<PullEvent>, Problem> {
        let before = self.view.clone();
        let seen = PullRequest {
            head_sha: sha.to_string(),
            ..self.view.pull.clone()
        };
        let merge_sha = self.project.merge(&seen, method).await?;
        if let Some(armed) = self.view.armed.clone() {
            self.forget(&armed);
        }
        self.view.pull.state = PullState::Merged;
        self.view.pull.merge_sha = Some(merge_sha.clone());
        self.view.note = Some(format!("merged ({})", crate::git::short_sha(&merge_sha)));
        Ok(vec![
            self.changed(&before, None),
            PullEvent::Merged {
                base: self.view.pull.base_ref.clone(),
                sha: merge_sha,
            },
        ])
    }

    /// Follows until `stop` says so of the view (or it is merged or
    /// closed), the token fires, or GitHub says something no wait changes.
    /// Each event goes to `on_event` as it happens.
    pub async fn run(
        &mut self,
        cancel: &CancellationToken,
        mut on_event: impl FnMut(PullEvent),
        mut stop: impl FnMut(&PullView) -> bool,
    ) -> Result<(), Stopped> {
        let mut wait = self.interval();
        loop {
            if stop(&self.view) || self.finished() {
                return Ok(());
            }
            if !pause(wait, cancel).await {
                return Err(Stopped::Cancelled);
            }
            let (events, next) = self.look().await?;
            wait = next;
            for event in events {
                on_event(event);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                merge_sha: None,
                requested_reviewers: Vec::new(),
            },
            checks: checks.map(|state| ChecksRollup::one_status(sha, state)),
            reviews: None,
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

    #[test]
    fn an_approval_and_a_request_for_changes_are_told_once() {
        use crate::github::reviews::{ReviewBody, ReviewExtras, fold};
        let said = |states: &[(&str, &str)]| {
            let reviews: Vec<ReviewBody> = states
                .iter()
                .enumerate()
                .map(|(i, (login, state))| {
                    serde_json::from_value(serde_json::json!({
                        "id": i, "user": { "login": login }, "state": state
                    }))
                    .unwrap()
                })
                .collect();
            let mut v = view("a", PullState::Open, Some(CheckState::Pending));
            v.reviews = Some(fold(&reviews, &[], 0, ReviewExtras::default()));
            v
        };
        let none = said(&[]);
        let approved = said(&[("alice", "APPROVED")]);
        let refused = said(&[("alice", "APPROVED"), ("bob", "CHANGES_REQUESTED")]);
        assert_eq!(
            approved.review_transition(&none),
            Some(Transition::Approved(vec!["alice".into()]))
        );
        assert_eq!(approved.review_transition(&approved), None);
        assert_eq!(
            refused.review_transition(&approved),
            Some(Transition::ChangesRequested(vec!["bob".into()]))
        );
        // The first read of the reviews is not news.
        let unread = view("a", PullState::Open, Some(CheckState::Pending));
        assert_eq!(approved.review_transition(&unread), None);
        // An approval that comes with green checks is told beside them.
        let mut green = said(&[("alice", "APPROVED")]);
        green.checks.as_mut().unwrap().state = CheckState::Success;
        assert_eq!(green.transition(&none), Some(Transition::Green));
        assert_eq!(
            green.review_transition(&none),
            Some(Transition::Approved(vec!["alice".into()]))
        );
    }
}
