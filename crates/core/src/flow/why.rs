//! Why a check failed, and running it again: for a failed GitHub Actions
//! job, its failing step, that step's last log lines and the check run's
//! annotations; for a failed CircleCI job (a status whose page is on
//! CircleCI), its failing step's output, read with the CircleCI sign-in.
//! What was read for a failed run is kept in the data folder and never
//! read again.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::accounts::AccountStore;
use crate::github::GithubError;
use crate::github::checks::{Check, CheckSource, CheckState, ChecksRollup};
use crate::{ErrorCode, Problem};

use super::Project;

/// How many of the failing step's last lines are kept.
pub const LAST_LINES: usize = 30;

/// Which CI a check comes from.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CiKind {
    /// A GitHub Actions job (a check run of the `github-actions` app).
    Actions,
    /// A CircleCI job (a status or check whose page is on CircleCI).
    Circleci,
    /// Anything else: only its page is known.
    Other,
}

/// A note a CI put on a line of a file (an Actions annotation).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotation {
    /// The file.
    pub path: String,
    /// Its line, when given.
    pub line: Option<u64>,
    /// `failure`, `warning` or `notice`.
    pub level: String,
    /// What it says.
    pub message: String,
}

/// A failed check, and why it failed as far as its CI tells.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedCheck {
    /// The check's name.
    pub name: String,
    /// Its CI.
    pub ci: CiKind,
    /// Its page.
    pub url: Option<String>,
    /// The step that failed.
    pub step: Option<String>,
    /// That step's last lines of output.
    pub lines: Vec<String>,
    /// Notes on files and lines.
    pub annotations: Vec<Annotation>,
    /// Why nothing more could be read, and what to do.
    pub note: Option<String>,
}

impl FailedCheck {
    fn bare(check: &Check, ci: CiKind) -> Self {
        FailedCheck {
            name: check.name.clone(),
            ci,
            url: check.url.clone(),
            step: None,
            lines: Vec::new(),
            annotations: Vec::new(),
            note: None,
        }
    }
}

/// A CircleCI job, from a check's page: `https://circleci.com/gh/ORG/REPO/N`
/// or `https://app.circleci.com/pipelines/github/ORG/REPO/P/workflows/W/jobs/N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircleJob {
    /// `gh/ORG/REPO`.
    pub slug: String,
    /// The job's number.
    pub number: u64,
}

impl CircleJob {
    /// The job a CircleCI page names; `None` for any other page.
    pub fn from_url(url: &str) -> Option<Self> {
        let rest = url.split_once("://")?.1;
        let (host, path) = rest.split_once('/')?;
        if !host.ends_with("circleci.com") {
            return None;
        }
        let path = path.split(['?', '#']).next()?;
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let (vcs, org, repo, number) = match parts.as_slice() {
            [vcs, org, repo, n] => (*vcs, *org, *repo, *n),
            ["pipelines", vcs, org, repo, _, "workflows", _, "jobs", n] => (*vcs, *org, *repo, *n),
            _ => return None,
        };
        let vcs = match vcs {
            "gh" | "github" => "gh",
            "bb" | "bitbucket" => "bb",
            _ => return None,
        };
        Some(CircleJob {
            slug: format!("{vcs}/{org}/{repo}"),
            number: number.parse().ok()?,
        })
    }
}

/// Which CI a check comes from.
pub fn ci_of(check: &Check) -> CiKind {
    if check.app.as_deref() == Some("github-actions") && check.run_id.is_some() {
        return CiKind::Actions;
    }
    if check.url.as_deref().and_then(CircleJob::from_url).is_some() {
        return CiKind::Circleci;
    }
    CiKind::Other
}

/// Why each failed check of `rollup` failed, as far as its CI tells; read
/// once per failed run, then from the data folder.
pub async fn why_failed(
    project: &Project,
    accounts: &AccountStore,
    rollup: &ChecksRollup,
) -> Vec<FailedCheck> {
    let mut found = Vec::new();
    for check in rollup
        .checks
        .iter()
        .filter(|c| c.state == CheckState::Failure && c.source != CheckSource::CheckSuite)
    {
        let ci = ci_of(check);
        let key = kept_key(project, check, ci);
        if let Some(kept) = key.as_deref().and_then(read_kept) {
            found.push(kept);
            continue;
        }
        let read = match ci {
            CiKind::Actions => actions_failure(project, check).await,
            CiKind::Circleci => circleci_failure(accounts, check).await,
            CiKind::Other => Ok(FailedCheck {
                note: Some("its CI's log cannot be read from here; open its page".into()),
                ..FailedCheck::bare(check, ci)
            }),
        };
        match read {
            Ok(failed) => {
                if let Some(key) = &key {
                    keep(key, &failed);
                }
                found.push(failed);
            }
            // Not kept: a later look may read it.
            Err(problem) => found.push(FailedCheck {
                note: Some(match &problem.hint {
                    Some(hint) => format!("{}. {hint}", problem.message),
                    None => problem.message,
                }),
                ..FailedCheck::bare(check, ci)
            }),
        }
    }
    found
}

/// A failed Actions job: its steps, its log cut to the failing step, and
/// the check run's annotations.
async fn actions_failure(project: &Project, check: &Check) -> Result<FailedCheck, Problem> {
    #[derive(Deserialize)]
    struct Job {
        #[serde(default)]
        steps: Vec<Step>,
    }
    #[derive(Deserialize)]
    struct Step {
        name: String,
        #[serde(default)]
        conclusion: Option<String>,
    }
    #[derive(Deserialize)]
    struct Noted {
        path: String,
        #[serde(default)]
        start_line: Option<u64>,
        #[serde(default)]
        annotation_level: Option<String>,
        #[serde(default)]
        message: String,
    }
    let id = check.run_id.unwrap_or_default();
    let (client, repo) = (&project.client, &project.repo);
    let base = format!("/repos/{}/{}", repo.owner, repo.name);
    let job: Job = client
        .get_value(&format!("{base}/actions/jobs/{id}"))
        .await?;
    let step = job
        .steps
        .iter()
        .find(|s| matches!(s.conclusion.as_deref(), Some("failure" | "timed_out")))
        .map(|s| s.name.clone());
    let log = client
        .get_text(&format!("{base}/actions/jobs/{id}/logs"))
        .await?;
    let notes: Vec<Noted> = client
        .get_value(&format!("{base}/check-runs/{id}/annotations?per_page=50"))
        .await?;
    Ok(FailedCheck {
        step,
        lines: actions_step_lines(&log),
        annotations: notes
            .into_iter()
            .map(|n| Annotation {
                path: n.path,
                line: n.start_line,
                level: n.annotation_level.unwrap_or_else(|| "failure".into()),
                message: n.message,
            })
            .collect(),
        ..FailedCheck::bare(check, CiKind::Actions)
    })
}

/// An Actions job log cut to its failing step: the group the first
/// `##[error]` line falls in, up to that line; the last lines when no
/// error line is marked. Timestamps are taken off.
pub fn actions_step_lines(log: &str) -> Vec<String> {
    let lines: Vec<&str> = log
        .lines()
        .map(|l| match l.split_once(' ') {
            Some((stamp, rest)) if stamp.len() >= 20 && stamp.ends_with('Z') => rest,
            _ => l,
        })
        .collect();
    let end = lines
        .iter()
        .position(|l| l.starts_with("##[error]"))
        .map_or(lines.len(), |i| i + 1);
    let start = lines[..end]
        .iter()
        .rposition(|l| l.starts_with("##[group]"))
        .unwrap_or(0);
    let shown: Vec<String> = lines[start..end]
        .iter()
        .filter(|l| !l.starts_with("##[group]") && !l.starts_with("##[endgroup]"))
        .map(|l| l.trim_start_matches("##[error]").to_string())
        .collect();
    let skip = shown.len().saturating_sub(LAST_LINES);
    shown[skip..].to_vec()
}

/// A failed CircleCI job: its failing step's output, through API v1.1's
/// job steps (v2 has no step output), with the CircleCI sign-in.
async fn circleci_failure(accounts: &AccountStore, check: &Check) -> Result<FailedCheck, Problem> {
    #[derive(Deserialize)]
    struct Build {
        #[serde(default)]
        steps: Vec<Step>,
    }
    #[derive(Deserialize)]
    struct Step {
        name: String,
        #[serde(default)]
        actions: Vec<Action>,
    }
    #[derive(Deserialize)]
    struct Action {
        #[serde(default)]
        status: Option<String>,
        #[serde(default)]
        failed: Option<bool>,
        #[serde(default)]
        output_url: Option<String>,
    }
    #[derive(Deserialize)]
    struct Output {
        #[serde(default)]
        message: String,
    }
    let job = check
        .url
        .as_deref()
        .and_then(CircleJob::from_url)
        .ok_or_else(|| Problem::new(ErrorCode::NotFound, "not a CircleCI job's page"))?;
    let circle = Circle::signed_in(accounts).await?;
    let build: Build = circle
        .get(&format!(
            "{}/project/{}/{}",
            circle.v1,
            job.slug.replacen("gh/", "github/", 1),
            job.number
        ))
        .await?;
    let failed = build.steps.iter().find_map(|step| {
        step.actions
            .iter()
            .find(|a| {
                a.failed == Some(true) || matches!(a.status.as_deref(), Some("failed" | "timedout"))
            })
            .map(|a| (step.name.clone(), a.output_url.clone()))
    });
    let Some((step, output)) = failed else {
        return Ok(FailedCheck {
            note: Some("CircleCI names no failed step".into()),
            ..FailedCheck::bare(check, CiKind::Circleci)
        });
    };
    let mut lines = Vec::new();
    if let Some(url) = output {
        // The output URL is signed: it needs no token, and gets none.
        let outputs: Vec<Output> = circle.get_unsigned(&url).await?;
        let text: String = outputs.into_iter().map(|o| o.message).collect();
        let all: Vec<String> = text
            .lines()
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect();
        lines = all[all.len().saturating_sub(LAST_LINES)..].to_vec();
    }
    Ok(FailedCheck {
        step: Some(step),
        lines,
        ..FailedCheck::bare(check, CiKind::Circleci)
    })
}

/// What was re-run.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rerun {
    /// The checks that will run again, by name.
    pub checks: Vec<String>,
    /// Failed checks that cannot be re-run from here, with why.
    pub skipped: Vec<(String, String)>,
}

/// Runs the failed checks of `rollup` again (every job of their runs with
/// `all`): Actions' re-run of failed jobs, CircleCI's re-run of the
/// workflow from failed. Each Actions run and CircleCI workflow once.
pub async fn rerun_failed(
    project: &Project,
    accounts: &AccountStore,
    rollup: &ChecksRollup,
    all: bool,
) -> Result<Rerun, Problem> {
    #[derive(Deserialize)]
    struct ActionsJob {
        run_id: u64,
    }
    #[derive(Deserialize)]
    struct CircleJobDetails {
        #[serde(default)]
        latest_workflow: Option<WorkflowRef>,
    }
    #[derive(Deserialize)]
    struct WorkflowRef {
        id: String,
    }
    let (client, repo) = (&project.client, &project.repo);
    let base = format!("/repos/{}/{}", repo.owner, repo.name);
    let mut done = Rerun {
        checks: Vec::new(),
        skipped: Vec::new(),
    };
    let mut runs: Vec<u64> = Vec::new();
    let mut workflows: Vec<String> = Vec::new();
    let mut circle: Option<Circle> = None;
    for check in rollup
        .checks
        .iter()
        .filter(|c| c.state == CheckState::Failure)
    {
        match ci_of(check) {
            CiKind::Actions => {
                let id = check.run_id.unwrap_or_default();
                let job: ActionsJob = client
                    .get_value(&format!("{base}/actions/jobs/{id}"))
                    .await?;
                if !runs.contains(&job.run_id) {
                    let what = if all { "rerun" } else { "rerun-failed-jobs" };
                    client
                        .post_json(
                            &format!("{base}/actions/runs/{}/{what}", job.run_id),
                            &json!({}),
                        )
                        .await
                        .map_err(rerun_refused)?;
                    runs.push(job.run_id);
                }
                done.checks.push(check.name.clone());
            }
            CiKind::Circleci => {
                let Some(job) = check.url.as_deref().and_then(CircleJob::from_url) else {
                    continue;
                };
                if circle.is_none() {
                    circle = Some(Circle::signed_in(accounts).await?);
                }
                let Some(circle) = circle.as_ref() else {
                    continue;
                };
                let details: CircleJobDetails = circle
                    .get(&format!(
                        "{}/project/{}/job/{}",
                        circle.v2, job.slug, job.number
                    ))
                    .await?;
                let Some(workflow) = details.latest_workflow else {
                    done.skipped
                        .push((check.name.clone(), "CircleCI names no workflow".into()));
                    continue;
                };
                if !workflows.contains(&workflow.id) {
                    let body = if all {
                        json!({})
                    } else {
                        json!({ "from_failed": true })
                    };
                    circle
                        .post(
                            &format!("{}/workflow/{}/rerun", circle.v2, workflow.id),
                            &body,
                        )
                        .await?;
                    workflows.push(workflow.id);
                }
                done.checks.push(check.name.clone());
            }
            CiKind::Other => done.skipped.push((
                check.name.clone(),
                "its CI cannot be asked from here; re-run it on its page".into(),
            )),
        }
    }
    Ok(done)
}

fn rerun_refused(error: GithubError) -> Problem {
    let problem = error.problem();
    match problem.hint {
        Some(_) => problem,
        None => problem.with_hint(
            "GitHub re-runs a run only once it has finished, and within 30 days; the token needs the repo (or actions: write) permission.",
        ),
    }
}

/// CircleCI's API with the signed-in account's token.
struct Circle {
    http: reqwest::Client,
    token: crate::secrets::Secret,
    /// API v2's base URL.
    v2: String,
    /// API v1.1's, beside it.
    v1: String,
}

impl Circle {
    async fn signed_in(accounts: &AccountStore) -> Result<Self, Problem> {
        let (api, token) = accounts.circleci_session().await.map_err(|e| {
            Problem::from(e).with_hint(
                "Sign in to CircleCI (`slipway login circleci`) to read its jobs' output.",
            )
        })?;
        let v2 = api.trim_end_matches('/').to_string();
        let v1 = match v2.strip_suffix("/v2") {
            Some(root) => format!("{root}/v1.1"),
            None => format!("{v2}/../v1.1"),
        };
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| Problem::new(ErrorCode::Io, e.without_url().to_string()))?;
        Ok(Circle {
            http,
            token,
            v2,
            v1,
        })
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, Problem> {
        let sent = self
            .http
            .get(url)
            .header("Circle-Token", self.token.expose())
            .send()
            .await;
        self.answer(url, sent).await
    }

    async fn get_unsigned<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, Problem> {
        let sent = self.http.get(url).send().await;
        self.answer(url, sent).await
    }

    async fn post(&self, url: &str, body: &Value) -> Result<Value, Problem> {
        let sent = self
            .http
            .post(url)
            .header("Circle-Token", self.token.expose())
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await;
        self.answer(url, sent).await
    }

    async fn answer<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        sent: reqwest::Result<reqwest::Response>,
    ) -> Result<T, Problem> {
        // Never the signed output URL's query in a message.
        let shown = url.split('?').next().unwrap_or(url);
        let answer = sent.map_err(|e| {
            Problem::new(
                ErrorCode::ServiceUnavailable,
                format!("cannot reach CircleCI at {shown}: {}", e.without_url()),
            )
        })?;
        let status = answer.status();
        let body = answer.bytes().await.unwrap_or_default();
        if status.as_u16() == 401 {
            return Err(
                Problem::new(ErrorCode::AuthRejected, "CircleCI rejected the token")
                    .with_hint("Sign in to CircleCI again (`slipway login circleci`)."),
            );
        }
        if !status.is_success() {
            return Err(Problem::new(
                ErrorCode::ServiceUnavailable,
                format!(
                    "CircleCI answered {} for {shown}: {}",
                    status.as_u16(),
                    crate::http::error_message(&body)
                ),
            ));
        }
        serde_json::from_slice(&body).map_err(|e| {
            Problem::new(
                ErrorCode::ServiceUnavailable,
                format!("CircleCI's answer for {shown} is not what it sends: {e}"),
            )
        })
    }
}

/// Where a failed run's reading is kept: one file per run.
fn kept_key(project: &Project, check: &Check, ci: CiKind) -> Option<PathBuf> {
    let id = match ci {
        CiKind::Actions => format!("actions-{}", check.run_id?),
        CiKind::Circleci => {
            let job = CircleJob::from_url(check.url.as_deref()?)?;
            format!("circleci-{}-{}", job.slug.replace('/', "-"), job.number)
        }
        CiKind::Other => return None,
    };
    let repo = &project.repo;
    let name = format!("{}-{}-{}-{id}.json", repo.host, repo.owner, repo.name).replace(
        |c: char| !c.is_ascii_alphanumeric() && !matches!(c, '-' | '.' | '_'),
        "_",
    );
    Some(crate::paths::data_dir()?.join("failures").join(name))
}

fn read_kept(path: &Path) -> Option<FailedCheck> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn keep(path: &Path, failed: &FailedCheck) {
    let Some(parent) = path.parent() else {
        return;
    };
    let written = std::fs::create_dir_all(parent).and_then(|()| {
        crate::paths::write_atomic(path, &serde_json::to_vec(failed).unwrap_or_default())
    });
    if let Err(e) = written {
        tracing::debug!("a failed run's log is not kept: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circleci_pages_name_their_job() {
        assert_eq!(
            CircleJob::from_url("https://circleci.com/gh/octo/cities/123?utm=x"),
            Some(CircleJob {
                slug: "gh/octo/cities".into(),
                number: 123
            })
        );
        assert_eq!(
            CircleJob::from_url(
                "https://app.circleci.com/pipelines/github/octo/cities/7/workflows/ab-12/jobs/45"
            ),
            Some(CircleJob {
                slug: "gh/octo/cities".into(),
                number: 45
            })
        );
        assert_eq!(
            CircleJob::from_url("https://github.com/octo/cities/runs/1"),
            None
        );
        assert_eq!(
            CircleJob::from_url("https://circleci.com/gh/octo/cities"),
            None
        );
    }

    #[test]
    fn an_actions_log_is_cut_to_the_failing_step() {
        let log = "2026-12-01T10:00:00.0000000Z ##[group]Run actions/checkout@v4\n\
                   2026-12-01T10:00:01.0000000Z Fetching\n\
                   2026-12-01T10:00:02.0000000Z ##[endgroup]\n\
                   2026-12-01T10:00:03.0000000Z ##[group]Run pytest\n\
                   2026-12-01T10:00:04.0000000Z ##[endgroup]\n\
                   2026-12-01T10:00:05.0000000Z test_cities.py F\n\
                   2026-12-01T10:00:06.0000000Z AssertionError: 'Lyon' != 'Paris'\n\
                   2026-12-01T10:00:07.0000000Z ##[error]Process completed with exit code 1.\n\
                   2026-12-01T10:00:08.0000000Z Post job cleanup.\n";
        assert_eq!(
            actions_step_lines(log),
            vec![
                "test_cities.py F",
                "AssertionError: 'Lyon' != 'Paris'",
                "Process completed with exit code 1."
            ]
        );
        let many: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let cut = actions_step_lines(&many);
        assert_eq!(cut.len(), LAST_LINES);
        assert_eq!(cut.last().map(String::as_str), Some("line 99"));
    }
}
