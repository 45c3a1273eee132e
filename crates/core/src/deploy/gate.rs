//! The gate: a trigger fires only for the commit at its branch's tip on
//! GitHub, when that commit's checks rollup is green. Anything else (red,
//! pending, unknown, a stale SHA, another branch) is a refusal with the
//! reason, which an explicit override may skip.

use serde::Deserialize;

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
    /// Why not, and what to do; `None` when it may be deployed.
    pub refusal: Option<(String, String)>,
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
    let checks = project
        .client
        .checks(&project.repo, &tip, Some(branch))
        .await?;
    let short = crate::git::short_sha(&tip).to_string();
    let refusal = if let Some(asked) = sha.filter(|s| !tip.starts_with(*s)) {
        Some((
            format!(
                "{} is not the tip of {branch} on GitHub ({short} is)",
                crate::git::short_sha(asked)
            ),
            format!(
                "Deploy {short}, the tip of {branch}; or merge the commit into {branch} first."
            ),
        ))
    } else {
        match checks.state {
            CheckState::Success => None,
            CheckState::Pending => {
                let (passed, total) = checks.passed();
                Some((
                    if total == 0 {
                        format!("{short} on {branch} has no checks reported yet")
                    } else {
                        format!("{short} on {branch} is still being checked ({passed} of {total} passed)")
                    },
                    "Wait for the checks to pass (`slipway pr watch` follows them), or deploy anyway with --force.".into(),
                ))
            }
            CheckState::Failure => {
                let failed = checks.failed_names();
                Some((
                    format!("{short} on {branch} is red: {} failed", failed.join(", ")),
                    "Fix the failing checks and merge the fix; or deploy anyway with --force."
                        .into(),
                ))
            }
        }
    };
    Ok(Verdict {
        sha: tip,
        checks,
        refusal,
    })
}
