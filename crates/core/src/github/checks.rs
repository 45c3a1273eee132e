//! A commit's checks folded into one state: the legacy commit statuses
//! (what CircleCI posts), GitHub's check runs (Actions and other apps) and
//! check suites, and the branch's required checks.
//!
//! The fold is strict where it matters for merging and deploying: only
//! what was reported for the asked commit counts, a re-run replaces the
//! run it repeats, a required check that has not reported is pending, and
//! a commit with no checks at all is pending, never green.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{GithubClient, GithubError, GithubRepo};

/// Where a commit's checks stand.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    /// Not finished, not started, or not reported yet.
    Pending,
    /// Finished and fine.
    Success,
    /// Finished and not fine (failure, error, cancelled, timed out, action required).
    Failure,
}

/// What reported a check.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckSource {
    /// A commit status (`ci/circleci: build`).
    Status,
    /// A check run (GitHub Actions, other apps).
    CheckRun,
    /// A check suite that has no run yet.
    CheckSuite,
    /// A required check that has not reported.
    Required,
    /// A check that reported on the branch's recent commits and has not
    /// reported here yet.
    Expected,
}

/// One check of a commit, as the user sees it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Its name: the status context or the check run's name.
    pub name: String,
    /// Where it stands.
    pub state: CheckState,
    /// What reported it.
    pub source: CheckSource,
    /// What it said (a status's description, a run's conclusion).
    pub detail: Option<String>,
    /// How long it ran, when it has finished.
    pub duration_ms: Option<u64>,
    /// Its page (the CI's build, the run on GitHub).
    pub url: Option<String>,
    /// A check run's id (for GitHub Actions, its job's id too).
    #[serde(default)]
    pub run_id: Option<u64>,
    /// The app that reported a check run (`github-actions`).
    #[serde(default)]
    pub app: Option<String>,
}

/// A commit's checks and the one state they add up to.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecksRollup {
    /// The commit the checks are for.
    pub sha: String,
    /// Failure if any failed; else pending if any is pending, a required
    /// one is missing, or there are none; else success.
    pub state: CheckState,
    /// Every check, failures first, then pending ones, then by name.
    pub checks: Vec<Check>,
}

impl ChecksRollup {
    /// A rollup of one CircleCI status, `ci/circleci: build`, in `state`.
    #[cfg(test)]
    pub(crate) fn one_status(sha: &str, state: CheckState) -> Self {
        ChecksRollup {
            sha: sha.into(),
            state,
            checks: vec![Check {
                name: "ci/circleci: build".into(),
                state,
                source: CheckSource::Status,
                detail: None,
                duration_ms: None,
                url: None,
                run_id: None,
                app: None,
            }],
        }
    }

    /// The names of the checks that failed.
    pub fn failed_names(&self) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|c| c.state == CheckState::Failure)
            .map(|c| c.name.as_str())
            .collect()
    }

    /// What a pending rollup waits for, in words: "waiting for
    /// ci/circleci: test (not reported yet)"; `None` once finished.
    pub fn waiting_for(&self) -> Option<String> {
        if self.state != CheckState::Pending {
            return None;
        }
        if self.checks.is_empty() {
            return Some("no checks reported yet".into());
        }
        let names: Vec<String> = self
            .checks
            .iter()
            .filter(|c| c.state == CheckState::Pending)
            .map(|c| match c.source {
                CheckSource::Required | CheckSource::Expected => {
                    format!("{} (not reported yet)", c.name)
                }
                _ => c.name.clone(),
            })
            .collect();
        Some(format!("waiting for {}", names.join(", ")))
    }

    /// How many checks have passed, of how many.
    pub fn passed(&self) -> (usize, usize) {
        let done = self
            .checks
            .iter()
            .filter(|c| c.state == CheckState::Success)
            .count();
        (done, self.checks.len())
    }
}

/// `GET /repos/{o}/{r}/commits/{ref}/status`: the latest status per context.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CombinedStatus {
    /// The commit they were posted for.
    pub sha: String,
    /// The statuses.
    #[serde(default)]
    pub statuses: Vec<CommitStatus>,
}

/// One commit status.
#[derive(Debug, Clone, Deserialize)]
pub struct CommitStatus {
    /// `error`, `failure`, `pending` or `success`.
    pub state: String,
    /// The context, e.g. `ci/circleci: build`.
    pub context: String,
    /// What it said.
    #[serde(default)]
    pub description: Option<String>,
    /// Its page.
    #[serde(default)]
    pub target_url: Option<String>,
    /// When it was first posted.
    #[serde(default)]
    pub created_at: Option<String>,
    /// When it last changed.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Its id; a later status of a context has a larger one.
    #[serde(default)]
    pub id: u64,
}

/// One page of `GET /repos/{o}/{r}/commits/{ref}/check-runs`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CheckRunsPage {
    /// How many there are over every page.
    #[serde(default)]
    pub total_count: u64,
    /// This page's runs.
    #[serde(default)]
    pub check_runs: Vec<CheckRun>,
}

/// One check run.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckRun {
    /// Its id; a re-run has a larger one.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// The commit it ran on.
    pub head_sha: String,
    /// `queued`, `in_progress`, `completed` (and `waiting`, `requested`, `pending`).
    pub status: String,
    /// Once completed: `success`, `failure`, `neutral`, `cancelled`,
    /// `skipped`, `timed_out`, `action_required`, `stale`.
    #[serde(default)]
    pub conclusion: Option<String>,
    /// When it started.
    #[serde(default)]
    pub started_at: Option<String>,
    /// When it finished.
    #[serde(default)]
    pub completed_at: Option<String>,
    /// Its page on GitHub.
    #[serde(default)]
    pub html_url: Option<String>,
    /// The suite it belongs to.
    #[serde(default)]
    pub check_suite: Option<SuiteRef>,
    /// The app that reported it.
    #[serde(default)]
    pub app: Option<RunApp>,
}

/// The app behind a check run, by slug.
#[derive(Debug, Clone, Deserialize)]
pub struct RunApp {
    /// `github-actions`, `circleci-checks`, ...
    #[serde(default)]
    pub slug: Option<String>,
}

/// A check run's suite, by id.
#[derive(Debug, Clone, Deserialize)]
pub struct SuiteRef {
    /// The suite's id.
    pub id: u64,
}

/// One page of `GET /repos/{o}/{r}/commits/{ref}/check-suites`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CheckSuitesPage {
    /// The suites.
    #[serde(default)]
    pub check_suites: Vec<CheckSuite>,
}

/// One check suite.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckSuite {
    /// Its id.
    pub id: u64,
    /// The commit it is for.
    pub head_sha: String,
    /// `queued`, `in_progress`, `completed`.
    #[serde(default)]
    pub status: Option<String>,
    /// Once completed, as for check runs.
    #[serde(default)]
    pub conclusion: Option<String>,
    /// The app that runs it.
    #[serde(default)]
    pub app: Option<SuiteApp>,
}

/// The app behind a check suite.
#[derive(Debug, Clone, Deserialize)]
pub struct SuiteApp {
    /// Its name, e.g. "GitHub Actions".
    #[serde(default)]
    pub name: Option<String>,
}

/// What the fold reads for one commit.
#[derive(Debug, Clone, Default)]
pub struct ChecksInput<'a> {
    /// The commit's combined status.
    pub status: Option<&'a CombinedStatus>,
    /// Every check run of the commit, from every page.
    pub runs: &'a [CheckRun],
    /// The commit's check suites.
    pub suites: &'a [CheckSuite],
    /// The check names branch protection requires, when readable.
    pub required: &'a [String],
    /// The check names that reported on the branch's recent commits.
    pub expected: &'a [String],
}

/// What a commit of a branch must show before it is green: the checks
/// its protection and rulesets require, the checks that reported on the
/// branch's recent commits, and the approving reviews a pull request into
/// it needs.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expectations {
    /// Required through branch protection or rulesets.
    pub required: Vec<String>,
    /// Reported on the branch's recent commits (and not required).
    pub expected: Vec<String>,
    /// Approving reviews its rulesets require of a pull request.
    pub approvals: u32,
}

impl Expectations {
    /// Only these required checks.
    pub fn required(required: Vec<String>) -> Self {
        Expectations {
            required,
            ..Default::default()
        }
    }

    /// The fold's input for `runs`, `suites` and `status`.
    pub fn input<'a>(
        &'a self,
        status: Option<&'a CombinedStatus>,
        runs: &'a [CheckRun],
        suites: &'a [CheckSuite],
    ) -> ChecksInput<'a> {
        ChecksInput {
            status,
            runs,
            suites,
            required: &self.required,
            expected: &self.expected,
        }
    }
}

/// Folds a commit's statuses, check runs and suites into one state.
pub fn rollup(sha: &str, input: &ChecksInput<'_>) -> ChecksRollup {
    let mut checks: Vec<Check> = Vec::new();

    // Statuses: the latest per context, for this commit only.
    if let Some(status) = input.status.filter(|s| s.sha == sha) {
        let mut latest: HashMap<&str, &CommitStatus> = HashMap::new();
        for s in &status.statuses {
            let newer = latest.get(s.context.as_str()).is_none_or(|seen| {
                (s.updated_at.as_deref(), s.id) > (seen.updated_at.as_deref(), seen.id)
            });
            if newer {
                latest.insert(&s.context, s);
            }
        }
        for s in latest.into_values() {
            let state = match s.state.as_str() {
                "success" => CheckState::Success,
                "error" | "failure" => CheckState::Failure,
                _ => CheckState::Pending,
            };
            let duration_ms = (state != CheckState::Pending)
                .then(|| between(s.created_at.as_deref(), s.updated_at.as_deref()))
                .flatten();
            checks.push(Check {
                name: s.context.clone(),
                state,
                source: CheckSource::Status,
                detail: s.description.clone().filter(|d| !d.is_empty()),
                duration_ms,
                url: s.target_url.clone().filter(|u| !u.is_empty()),
                run_id: None,
                app: None,
            });
        }
    }

    // Check runs: for this commit, the newest run of each name (a re-run
    // replaces the run it repeats).
    let mut newest: HashMap<&str, &CheckRun> = HashMap::new();
    for run in input.runs.iter().filter(|r| r.head_sha == sha) {
        if newest
            .get(run.name.as_str())
            .is_none_or(|seen| run.id > seen.id)
        {
            newest.insert(&run.name, run);
        }
    }
    let mut suites_with_runs: Vec<u64> = Vec::new();
    for run in input.runs.iter().filter(|r| r.head_sha == sha) {
        if let Some(suite) = &run.check_suite {
            suites_with_runs.push(suite.id);
        }
    }
    for run in newest.into_values() {
        let state = if run.status == "completed" {
            conclusion_state(run.conclusion.as_deref())
        } else {
            CheckState::Pending
        };
        checks.push(Check {
            name: run.name.clone(),
            state,
            source: CheckSource::CheckRun,
            detail: run.conclusion.clone(),
            duration_ms: between(run.started_at.as_deref(), run.completed_at.as_deref()),
            url: run.html_url.clone(),
            run_id: Some(run.id),
            app: run.app.as_ref().and_then(|a| a.slug.clone()),
        });
    }

    // Suites that have not created a run yet still mean work to come.
    for suite in input.suites.iter().filter(|s| s.head_sha == sha) {
        if suites_with_runs.contains(&suite.id) {
            continue;
        }
        let state = match suite.status.as_deref() {
            Some("completed") => match suite.conclusion.as_deref() {
                // A finished suite with nothing to run says nothing.
                Some("success" | "neutral" | "skipped") | None => continue,
                other => conclusion_state(other),
            },
            _ => CheckState::Pending,
        };
        let name = suite
            .app
            .as_ref()
            .and_then(|a| a.name.clone())
            .unwrap_or_else(|| format!("check suite {}", suite.id));
        checks.push(Check {
            name,
            state,
            source: CheckSource::CheckSuite,
            detail: suite.conclusion.clone(),
            duration_ms: None,
            url: None,
            run_id: None,
            app: None,
        });
    }

    // Required and expected checks that have not reported are pending.
    let waited = input
        .required
        .iter()
        .map(|n| (n, CheckSource::Required))
        .chain(input.expected.iter().map(|n| (n, CheckSource::Expected)));
    for (name, source) in waited {
        if !checks.iter().any(|c| &c.name == name) {
            checks.push(Check {
                name: name.clone(),
                state: CheckState::Pending,
                source,
                detail: Some(
                    match source {
                        CheckSource::Required => "required, not reported yet",
                        _ => "not reported yet",
                    }
                    .into(),
                ),
                duration_ms: None,
                url: None,
                run_id: None,
                app: None,
            });
        }
    }

    let state = if checks.iter().any(|c| c.state == CheckState::Failure) {
        CheckState::Failure
    } else if checks.is_empty() || checks.iter().any(|c| c.state == CheckState::Pending) {
        CheckState::Pending
    } else {
        CheckState::Success
    };
    let rank = |s: CheckState| match s {
        CheckState::Failure => 0,
        CheckState::Pending => 1,
        CheckState::Success => 2,
    };
    checks.sort_by(|a, b| (rank(a.state), &a.name).cmp(&(rank(b.state), &b.name)));
    ChecksRollup {
        sha: sha.to_string(),
        state,
        checks,
    }
}

/// A completed run's conclusion as a state.
fn conclusion_state(conclusion: Option<&str>) -> CheckState {
    match conclusion {
        Some("success" | "neutral" | "skipped") => CheckState::Success,
        Some(
            "failure" | "cancelled" | "timed_out" | "action_required" | "stale" | "startup_failure",
        ) => CheckState::Failure,
        _ => CheckState::Pending,
    }
}

/// Milliseconds between two GitHub timestamps (`2024-05-04T01:14:52Z`).
fn between(start: Option<&str>, end: Option<&str>) -> Option<u64> {
    let (start, end) = (unix_seconds(start?)?, unix_seconds(end?)?);
    end.checked_sub(start).map(|s| s * 1000)
}

/// Seconds since the Unix epoch of `YYYY-MM-DDTHH:MM:SSZ` (fractions ignored).
fn unix_seconds(timestamp: &str) -> Option<u64> {
    let digits =
        |range: std::ops::Range<usize>| -> Option<u64> { timestamp.get(range)?.parse().ok() };
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Days since the epoch (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "1111111111111111111111111111111111111111";
    const OLD: &str = "2222222222222222222222222222222222222222";

    fn posted(context: &str, state: &str, id: u64) -> CommitStatus {
        CommitStatus {
            state: state.into(),
            context: context.into(),
            description: None,
            target_url: Some(format!("https://circleci.com/gh/o/r/{id}")),
            created_at: Some("2026-12-01T10:00:00Z".into()),
            updated_at: Some(format!("2026-12-01T10:00:{id:02}Z")),
            id,
        }
    }

    fn run(name: &str, id: u64, sha: &str, status: &str, conclusion: Option<&str>) -> CheckRun {
        CheckRun {
            id,
            name: name.into(),
            head_sha: sha.into(),
            status: status.into(),
            conclusion: conclusion.map(str::to_string),
            started_at: Some("2026-12-01T10:00:00Z".into()),
            completed_at: conclusion.map(|_| "2026-12-01T10:01:30Z".to_string()),
            html_url: None,
            check_suite: Some(SuiteRef { id: 9 }),
            app: None,
        }
    }

    fn combined(statuses: Vec<CommitStatus>) -> CombinedStatus {
        CombinedStatus {
            sha: HEAD.into(),
            statuses,
        }
    }

    #[test]
    fn no_checks_yet_is_pending_never_success() {
        let r = rollup(HEAD, &ChecksInput::default());
        assert_eq!(r.state, CheckState::Pending);
        assert!(r.checks.is_empty());
    }

    #[test]
    fn statuses_and_check_runs_fold_into_one_state() {
        let status = combined(vec![posted("ci/circleci: build", "success", 1)]);
        let runs = vec![run("test", 10, HEAD, "completed", Some("success"))];
        let input = ChecksInput {
            status: Some(&status),
            runs: &runs,
            ..Default::default()
        };
        let r = rollup(HEAD, &input);
        assert_eq!(r.state, CheckState::Success);
        assert_eq!(r.passed(), (2, 2));
        let test = r.checks.iter().find(|c| c.name == "test").unwrap();
        assert_eq!(test.duration_ms, Some(90_000));

        let pending = vec![run("test", 10, HEAD, "in_progress", None)];
        let r = rollup(
            HEAD,
            &ChecksInput {
                status: Some(&status),
                runs: &pending,
                ..Default::default()
            },
        );
        assert_eq!(r.state, CheckState::Pending);

        for bad in ["failure", "cancelled", "timed_out", "action_required"] {
            let runs = vec![run("test", 10, HEAD, "completed", Some(bad))];
            let r = rollup(
                HEAD,
                &ChecksInput {
                    status: Some(&status),
                    runs: &runs,
                    ..Default::default()
                },
            );
            assert_eq!(r.state, CheckState::Failure, "{bad}");
            assert_eq!(r.checks[0].name, "test", "failures come first");
        }
        let errored = combined(vec![posted("ci/circleci: build", "error", 1)]);
        let r = rollup(
            HEAD,
            &ChecksInput {
                status: Some(&errored),
                ..Default::default()
            },
        );
        assert_eq!(r.state, CheckState::Failure);
    }

    #[test]
    fn a_rerun_replaces_the_run_it_repeats_and_a_later_status_its_context() {
        let runs = vec![
            run("test", 10, HEAD, "completed", Some("failure")),
            run("test", 11, HEAD, "completed", Some("success")),
        ];
        let statuses = combined(vec![
            posted("ci/circleci: build", "failure", 1),
            posted("ci/circleci: build", "success", 2),
        ]);
        let r = rollup(
            HEAD,
            &ChecksInput {
                status: Some(&statuses),
                runs: &runs,
                ..Default::default()
            },
        );
        assert_eq!(r.state, CheckState::Success);
        assert_eq!(r.checks.len(), 2);
    }

    #[test]
    fn only_the_asked_commit_counts() {
        let runs = vec![run("test", 10, OLD, "completed", Some("success"))];
        let old_status = CombinedStatus {
            sha: OLD.into(),
            statuses: vec![posted("ci/circleci: build", "success", 1)],
        };
        let r = rollup(
            HEAD,
            &ChecksInput {
                status: Some(&old_status),
                runs: &runs,
                ..Default::default()
            },
        );
        assert_eq!(
            r.state,
            CheckState::Pending,
            "green for another SHA is not green"
        );
        assert!(r.checks.is_empty());
    }

    #[test]
    fn a_check_the_branch_reports_is_awaited_until_it_reports() {
        let expect = Expectations {
            required: vec!["ci/circleci: build".into()],
            expected: vec!["lint".into()],
            approvals: 0,
        };
        let status = combined(vec![posted("ci/circleci: build", "success", 1)]);
        let r = rollup(HEAD, &expect.input(Some(&status), &[], &[]));
        assert_eq!(r.state, CheckState::Pending);
        assert_eq!(r.checks[0].source, CheckSource::Expected);
        assert_eq!(
            r.waiting_for().as_deref(),
            Some("waiting for lint (not reported yet)")
        );
        let runs = vec![run("lint", 5, HEAD, "completed", Some("success"))];
        let r = rollup(HEAD, &expect.input(Some(&status), &runs, &[]));
        assert_eq!(r.state, CheckState::Success);
        assert_eq!(r.waiting_for(), None);
    }

    #[test]
    fn a_missing_required_check_and_a_suite_without_runs_are_pending() {
        let status = combined(vec![posted("ci/circleci: build", "success", 1)]);
        let required = vec!["ci/circleci: build".to_string(), "lint".to_string()];
        let r = rollup(
            HEAD,
            &ChecksInput {
                status: Some(&status),
                required: &required,
                ..Default::default()
            },
        );
        assert_eq!(r.state, CheckState::Pending);
        assert_eq!(r.checks[0].source, CheckSource::Required);
        assert_eq!(r.checks[0].name, "lint");

        let suites = vec![CheckSuite {
            id: 3,
            head_sha: HEAD.into(),
            status: Some("queued".into()),
            conclusion: None,
            app: Some(SuiteApp {
                name: Some("GitHub Actions".into()),
            }),
        }];
        let r = rollup(
            HEAD,
            &ChecksInput {
                status: Some(&status),
                suites: &suites,
                ..Default::default()
            },
        );
        assert_eq!(r.state, CheckState::Pending);
        assert_eq!(r.checks[0].name, "GitHub Actions");
    }

    #[test]
    fn the_contract_payloads_parse() {
        let status: CombinedStatus = serde_json::from_str(include_str!(
            "../../../../tests/contracts/github/get_combined_status_for_ref.json"
        ))
        .unwrap();
        assert_eq!(status.statuses.len(), 2);
        let runs: CheckRunsPage = serde_json::from_str(include_str!(
            "../../../../tests/contracts/github/list_check_runs_for_ref.json"
        ))
        .unwrap();
        assert_eq!(runs.check_runs[0].conclusion.as_deref(), Some("neutral"));
        let suites: CheckSuitesPage = serde_json::from_str(include_str!(
            "../../../../tests/contracts/github/list_check_suites_for_ref.json"
        ))
        .unwrap();
        assert_eq!(suites.check_suites[0].id, 5);
        let r = rollup(
            &runs.check_runs[0].head_sha,
            &ChecksInput {
                runs: &runs.check_runs,
                ..Default::default()
            },
        );
        assert_eq!(r.state, CheckState::Success, "neutral counts as passed");
    }

    #[test]
    fn timestamps_are_read() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2026-12-01T00:00:00Z"), Some(1_796_083_200));
        assert_eq!(unix_seconds("2024-02-29T12:00:01.5Z"), Some(1_709_208_001));
        assert_eq!(unix_seconds("not a time"), None);
    }
}

/// A commit status to post, as CI services do.
#[derive(Debug, Clone)]
pub struct NewStatus<'a> {
    /// `success`, `failure`, `error` or `pending`.
    pub state: &'a str,
    /// What posts it (`slipway/preflight`).
    pub context: &'a str,
    /// One line; GitHub refuses more than 140 characters.
    pub description: &'a str,
}

impl GithubClient {
    /// Posts `status` on `sha`.
    pub async fn create_status(
        &self,
        repo: &GithubRepo,
        sha: &str,
        status: &NewStatus<'_>,
    ) -> Result<(), GithubError> {
        let path = format!("/repos/{}/{}/statuses/{sha}", repo.owner, repo.name);
        let description: String = status.description.chars().take(140).collect();
        let body = serde_json::json!({
            "state": status.state, "context": status.context, "description": description,
        });
        let answer = self
            .send(http::Method::POST, &path, Some(&body), None)
            .await?;
        if answer.status == 422 {
            return Err(GithubError::Invalid {
                message: super::pulls::validation_message(&answer.body),
            });
        }
        answer.success(self, &path)?;
        Ok(())
    }
}
