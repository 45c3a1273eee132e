//! A pull request's reviews folded into where it stands: approved, changes
//! requested or a review still required, who said what, how many approving
//! reviews its base branch asks for and how many review threads are still
//! open.
//!
//! The fold follows GitHub's: each reviewer's latest approving, requesting
//! or dismissed review counts (a comment changes nothing), and GitHub's own
//! decision (which sees branch protection every token cannot read) wins
//! when it asks for more.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::pulls::PullRequest;
use super::{GithubClient, GithubError, GithubRepo};

/// Where a pull request's reviews leave it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    /// Approved by as many reviewers as required (at least one).
    Approved,
    /// A reviewer asked for changes.
    ChangesRequested,
    /// An approving review is required or requested and not given yet.
    ReviewRequired,
    /// Nobody reviewed it and nothing asks for a review.
    NotReviewed,
}

/// What one reviewer said last.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewerState {
    /// Approved.
    Approved,
    /// Asked for changes.
    ChangesRequested,
    /// Only commented.
    Commented,
    /// Asked to review, has not yet.
    Requested,
}

/// One reviewer and what they said last.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reviewer {
    /// Their GitHub login.
    pub login: String,
    /// What they said last.
    pub state: ReviewerState,
}

/// A pull request's reviews, as the user sees them.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reviews {
    /// Where they leave it.
    pub decision: ReviewDecision,
    /// Each reviewer once: those asking for changes first, then approvers,
    /// then those asked, then those who commented.
    pub reviewers: Vec<Reviewer>,
    /// Approving reviews given.
    pub approvals: u32,
    /// Approving reviews its base branch requires (0 when none, or when
    /// only GitHub knows and says a review is required).
    pub required: u32,
    /// Review threads not resolved yet, when GitHub told.
    pub unresolved_threads: Option<u32>,
    /// What a merge still waits for: "waiting for 1 approving review";
    /// `None` when the reviews allow it (changes requested is a refusal,
    /// not a wait).
    pub waiting_for: Option<String>,
}

impl Reviews {
    /// The logins of the reviewers in `state`.
    pub fn by(&self, state: ReviewerState) -> Vec<&str> {
        self.reviewers
            .iter()
            .filter(|r| r.state == state)
            .map(|r| r.login.as_str())
            .collect()
    }

    /// One line: "approved by alice", "changes requested by bob",
    /// "review required: 1 of 2 approvals; asked: carol", "no reviews",
    /// with the open threads.
    pub fn summary(&self) -> String {
        let names = |state| self.by(state).join(", ");
        let mut line = match self.decision {
            ReviewDecision::Approved => format!("approved by {}", names(ReviewerState::Approved)),
            ReviewDecision::ChangesRequested => format!(
                "changes requested by {}",
                names(ReviewerState::ChangesRequested)
            ),
            ReviewDecision::ReviewRequired => {
                let mut line = String::from("review required");
                if self.required > 0 {
                    line.push_str(&format!(
                        ": {} of {} approvals",
                        self.approvals, self.required
                    ));
                }
                let asked = names(ReviewerState::Requested);
                if !asked.is_empty() {
                    line.push_str(&format!("; asked: {asked}"));
                }
                line
            }
            ReviewDecision::NotReviewed => "no reviews".to_string(),
        };
        match self.unresolved_threads {
            Some(0) | None => {}
            Some(1) => line.push_str(" · 1 unresolved thread"),
            Some(n) => line.push_str(&format!(" · {n} unresolved threads")),
        }
        line
    }
}

/// One review of `GET /repos/{o}/{r}/pulls/{n}/reviews`.
#[derive(Debug, Clone, Deserialize)]
pub struct ReviewBody {
    /// Its id; later reviews have larger ones.
    pub id: u64,
    /// Who reviewed (`null` for a deleted account).
    #[serde(default)]
    pub user: Option<Login>,
    /// `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED`, `PENDING`.
    pub state: String,
}

/// A GitHub account, by login.
#[derive(Debug, Clone, Deserialize)]
pub struct Login {
    /// The login.
    pub login: String,
}

/// What GitHub's GraphQL API adds: its own decision, which sees branch
/// protection, and the open threads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReviewExtras {
    /// GitHub's `reviewDecision`, when it gave one.
    pub decision: Option<ReviewDecision>,
    /// Review threads not resolved.
    pub unresolved_threads: Option<u32>,
}

/// Folds `reviews` (oldest first), the reviewers still asked, the
/// approvals `required` and GitHub's extras into one [`Reviews`].
pub fn fold(
    reviews: &[ReviewBody],
    requested: &[String],
    required: u32,
    extras: ReviewExtras,
) -> Reviews {
    let mut latest: Vec<Reviewer> = Vec::new();
    let mut ordered: Vec<&ReviewBody> = reviews.iter().collect();
    ordered.sort_by_key(|r| r.id);
    for review in ordered {
        let Some(login) = review.user.as_ref().map(|u| u.login.clone()) else {
            continue;
        };
        let state = match review.state.as_str() {
            "APPROVED" => Some(ReviewerState::Approved),
            "CHANGES_REQUESTED" => Some(ReviewerState::ChangesRequested),
            "COMMENTED" => None,
            // A dismissed review no longer counts, for or against.
            "DISMISSED" => Some(ReviewerState::Commented),
            _ => continue,
        };
        match latest.iter_mut().find(|r| r.login == login) {
            Some(seen) => {
                if let Some(state) = state {
                    seen.state = state;
                }
            }
            None => latest.push(Reviewer {
                login,
                state: state.unwrap_or(ReviewerState::Commented),
            }),
        }
    }
    for login in requested {
        if !latest.iter().any(|r| &r.login == login) {
            latest.push(Reviewer {
                login: login.clone(),
                state: ReviewerState::Requested,
            });
        }
    }
    let rank = |s: ReviewerState| match s {
        ReviewerState::ChangesRequested => 0,
        ReviewerState::Approved => 1,
        ReviewerState::Requested => 2,
        ReviewerState::Commented => 3,
    };
    latest.sort_by(|a, b| (rank(a.state), &a.login).cmp(&(rank(b.state), &b.login)));
    let count = |state| latest.iter().filter(|r| r.state == state).count() as u32;
    let approvals = count(ReviewerState::Approved);
    let own = if count(ReviewerState::ChangesRequested) > 0 {
        ReviewDecision::ChangesRequested
    } else if approvals < required || (approvals == 0 && count(ReviewerState::Requested) > 0) {
        ReviewDecision::ReviewRequired
    } else if approvals > 0 {
        ReviewDecision::Approved
    } else {
        ReviewDecision::NotReviewed
    };
    // GitHub's word wins where it is stricter than what this token reads.
    let decision = match (own, extras.decision) {
        (ReviewDecision::Approved | ReviewDecision::NotReviewed, Some(github))
            if github != ReviewDecision::NotReviewed =>
        {
            github
        }
        _ => own,
    };
    let missing = required.saturating_sub(approvals);
    let waiting_for = if decision == ReviewDecision::ChangesRequested {
        None
    } else if missing > 0 {
        Some(format!(
            "waiting for {missing} approving review{}",
            if missing == 1 { "" } else { "s" }
        ))
    } else if extras.decision == Some(ReviewDecision::ReviewRequired) {
        Some("waiting for an approving review".to_string())
    } else {
        None
    };
    Reviews {
        decision,
        reviewers: latest,
        approvals,
        required,
        unresolved_threads: extras.unresolved_threads,
        waiting_for,
    }
}

impl GithubClient {
    /// GitHub's review decision and open review threads of `pull`, from
    /// GraphQL. `None` fields when GitHub would not say.
    pub async fn review_extras(&self, repo: &GithubRepo, number: u64) -> ReviewExtras {
        let query = "query($owner: String!, $name: String!, $number: Int!) { \
            repository(owner: $owner, name: $name) { pullRequest(number: $number) { \
            reviewDecision reviewThreads(first: 100) { nodes { isResolved } } } } }";
        let variables = json!({ "owner": repo.owner, "name": repo.name, "number": number });
        let answer = match self.graphql(query, variables).await {
            Ok(answer) => answer,
            Err(e) => {
                tracing::debug!("GitHub's review decision unread: {}", e.problem().message);
                return ReviewExtras::default();
            }
        };
        let pull = &answer["repository"]["pullRequest"];
        let decision = match pull["reviewDecision"].as_str() {
            Some("APPROVED") => Some(ReviewDecision::Approved),
            Some("CHANGES_REQUESTED") => Some(ReviewDecision::ChangesRequested),
            Some("REVIEW_REQUIRED") => Some(ReviewDecision::ReviewRequired),
            _ => None,
        };
        let unresolved_threads = pull["reviewThreads"]["nodes"].as_array().map(|nodes| {
            nodes
                .iter()
                .filter(|n| n["isResolved"] == Value::Bool(false))
                .count() as u32
        });
        ReviewExtras {
            decision,
            unresolved_threads,
        }
    }

    /// `pull`'s reviews, once (`pr status`, `pr list`), with the approvals
    /// its base requires.
    pub async fn reviews(
        &self,
        repo: &GithubRepo,
        pull: &PullRequest,
        required: u32,
    ) -> Result<Reviews, GithubError> {
        let reviews: Vec<ReviewBody> = self
            .get_all_pages(&reviews_path(repo, pull.number), |page: Vec<ReviewBody>| {
                page
            })
            .await?;
        let extras = self.review_extras(repo, pull.number).await;
        Ok(fold(&reviews, &pull.requested_reviewers, required, extras))
    }
}

/// The first page of a pull request's reviews.
pub(crate) fn reviews_path(repo: &GithubRepo, number: u64) -> String {
    format!(
        "/repos/{}/{}/pulls/{number}/reviews?per_page=100",
        repo.owner, repo.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(id: u64, login: &str, state: &str) -> ReviewBody {
        ReviewBody {
            id,
            user: Some(Login {
                login: login.into(),
            }),
            state: state.into(),
        }
    }

    #[test]
    fn each_reviewers_latest_opinion_counts() {
        let reviews = vec![
            review(1, "bob", "CHANGES_REQUESTED"),
            review(2, "alice", "APPROVED"),
            review(3, "bob", "COMMENTED"),
        ];
        let r = fold(&reviews, &[], 0, ReviewExtras::default());
        assert_eq!(r.decision, ReviewDecision::ChangesRequested);
        assert_eq!(r.summary(), "changes requested by bob");
        assert_eq!(r.waiting_for, None);

        let reviews = vec![
            review(1, "bob", "CHANGES_REQUESTED"),
            review(2, "alice", "APPROVED"),
            review(4, "bob", "APPROVED"),
        ];
        let r = fold(&reviews, &[], 0, ReviewExtras::default());
        assert_eq!(r.decision, ReviewDecision::Approved);
        assert_eq!(r.approvals, 2);
        assert_eq!(r.summary(), "approved by alice, bob");

        let reviews = vec![review(1, "bob", "APPROVED"), review(2, "bob", "DISMISSED")];
        let r = fold(&reviews, &[], 0, ReviewExtras::default());
        assert_eq!(r.decision, ReviewDecision::NotReviewed);
        assert_eq!(r.summary(), "no reviews");
    }

    #[test]
    fn required_approvals_and_githubs_word_are_waited_for() {
        let reviews = vec![review(1, "alice", "APPROVED")];
        let r = fold(&reviews, &["carol".into()], 2, ReviewExtras::default());
        assert_eq!(r.decision, ReviewDecision::ReviewRequired);
        assert_eq!(
            r.waiting_for.as_deref(),
            Some("waiting for 1 approving review")
        );
        assert_eq!(
            r.summary(),
            "review required: 1 of 2 approvals; asked: carol"
        );

        let github = ReviewExtras {
            decision: Some(ReviewDecision::ReviewRequired),
            unresolved_threads: Some(2),
        };
        let r = fold(&reviews, &[], 0, github);
        assert_eq!(r.decision, ReviewDecision::ReviewRequired);
        assert_eq!(
            r.waiting_for.as_deref(),
            Some("waiting for an approving review")
        );
        assert!(
            r.summary().ends_with(" · 2 unresolved threads"),
            "{}",
            r.summary()
        );

        let r = fold(&[], &["carol".into()], 0, ReviewExtras::default());
        assert_eq!(r.decision, ReviewDecision::ReviewRequired);
        assert_eq!(r.waiting_for, None, "a request alone does not block");
    }
}
