//! The gate: a trigger fires only for the commit at its branch's tip on
//! GitHub, when that commit's checks rollup is green. Anything else (red,
//! pending, unknown, a stale SHA, another branch) is a refusal with the
//! reason, which an explicit override may skip.

use serde::{Deserialize, Serialize};

use crate::Problem;
use crate::flow::Project;
use crate::github::checks::{CheckState, ChecksRollup};

/// The gate's answer.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The commit that would be deployed.
    pub sha: String,
    /// Its checks.
    pub checks: ChecksRollup,
    /// Why not; `None` when it may be deployed.
    pub refusal: Option<GateRefusal>,
}

/// Why the gate refuses a commit. Each front end words what to do.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GateRefusal {
    /// The commit asked for is not the tip of the branch on GitHub.
    NotTip {
        /// The commit asked for.
        asked: String,
        /// The tip.
        tip: String,
        /// The branch.
        branch: String,
    },
    /// No check has reported for the tip yet.
    NoChecks {
        /// The tip.
        sha: String,
        /// The branch.
        branch: String,
    },
    /// Its checks are still running; what it waits for.
    Pending {
        /// The tip.
        sha: String,
        /// The branch.
        branch: String,
        /// How many passed.
        passed: usize,
        /// Of how many.
        total: usize,
        /// The checks not finished (or not reported).
        waiting: Vec<String>,
    },
    /// A check failed.
    Red {
        /// The tip.
        sha: String,
        /// The branch.
        branch: String,
        /// The checks that failed.
        failed: Vec<String>,
    },
}

impl std::fmt::Display for GateRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::git::short_sha;
        match self {
            GateRefusal::NotTip { asked, tip, branch } => write!(
                f,
                "{} is not the tip of {branch} on GitHub ({} is)",
                short_sha(asked),
                short_sha(tip)
            ),
            GateRefusal::NoChecks { sha, branch } => write!(
                f,
                "{} on {branch} has no checks reported yet",
                short_sha(sha)
            ),
            GateRefusal::Pending {
                sha,
                branch,
                passed,
                total,
                ..
            } => write!(
                f,
                "{} on {branch} is still being checked ({passed} of {total} passed)",
                short_sha(sha)
            ),
            GateRefusal::Red {
                sha,
                branch,
                failed,
            } => write!(
                f,
                "{} on {branch} is red: {} failed",
                short_sha(sha),
                failed.join(", ")
            ),
        }
    }
}

#[derive(Deserialize)]
struct Branch {
    commit: Commit,
}

#[derive(Deserialize)]
struct Commit {
    sha: String,
}

/// Checks `branch` on GitHub: its tip, the SHA asked for, the tip's checks.
pub async fn check(project: &Project, branch: &str, sha: Option<&str>) -> Result<Verdict, Problem> {
    let path = format!(
        "/repos/{}/{}/branches/{branch}",
        project.repo.owner, project.repo.name
    );
    let tip = project.client.get_value::<Branch>(&path).await?.commit.sha;
    let checks = project.commit_checks(&tip, branch).await?;
    let refusal = refusal(&tip, branch, sha, &checks);
    Ok(Verdict {
        sha: tip,
        checks,
        refusal,
    })
}

/// The gate's rule: only the tip, only green.
fn refusal(
    tip: &str,
    branch: &str,
    asked: Option<&str>,
    checks: &ChecksRollup,
) -> Option<GateRefusal> {
    let (sha, branch) = (tip.to_string(), branch.to_string());
    if let Some(asked) = asked.filter(|s| !tip.starts_with(*s)) {
        return Some(GateRefusal::NotTip {
            asked: asked.to_string(),
            tip: sha,
            branch,
        });
    }
    match checks.state {
        CheckState::Success => None,
        CheckState::Pending if checks.checks.is_empty() => {
            Some(GateRefusal::NoChecks { sha, branch })
        }
        CheckState::Pending => {
            let (passed, total) = checks.passed();
            Some(GateRefusal::Pending {
                sha,
                branch,
                passed,
                total,
                waiting: checks
                    .checks
                    .iter()
                    .filter(|c| c.state == CheckState::Pending)
                    .map(|c| c.name.clone())
                    .collect(),
            })
        }
        CheckState::Failure => Some(GateRefusal::Red {
            sha,
            branch,
            failed: checks
                .failed_names()
                .into_iter()
                .map(str::to_string)
                .collect(),
        }),
    }
}
