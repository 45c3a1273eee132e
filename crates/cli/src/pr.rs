//! `slipway pr`: the GitHub flow from the terminal, over the core's
//! [`slipway_core::flow`]: open a pull request (after a preflight run of
//! the local pipeline), its checks, watching them, merging.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Subcommand, ValueEnum};
use slipway_core::accounts::AccountStore;
use slipway_core::flow::Project;
use slipway_core::github::checks::{CheckState, ChecksRollup};
use slipway_core::github::pulls::{MergeMethod, PullRequest};
use slipway_core::github::watch::ChecksWatch;
use slipway_core::{ErrorCode, Problem};

use crate::{EXIT_FAILED, EXIT_PASSED};

/// Exit code of `pr status` while checks are still running (as `gh pr checks`).
pub const EXIT_PENDING: u8 = 8;

#[derive(Debug, Subcommand)]
pub enum PrCommand {
    /// Push the branch and open a pull request against the default branch,
    /// after running the local pipeline on the commit being pushed.
    Open {
        /// Project folder (a git repository whose origin is on GitHub).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The branch to merge into (default: the repository's default branch).
        #[arg(long)]
        base: Option<String>,
        /// Title (default: the commit's subject, or the branch's name).
        #[arg(long)]
        title: Option<String>,
        /// Body (default: the commits' subjects).
        #[arg(long)]
        body: Option<String>,
        /// Open it as a draft.
        #[arg(long)]
        draft: bool,
        /// Push without running the local pipeline first.
        #[arg(long)]
        no_preflight: bool,
        /// Push even when the preflight run fails.
        #[arg(long)]
        push_anyway: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The pull request's checks: exit 0 green, 1 red, 8 pending.
    Status {
        /// Project folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Follow the pull request's checks until they finish: exit 0 green, 1 red.
    Watch {
        /// Project folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Print one JSON object per change.
        #[arg(long)]
        json: bool,
    },
    /// Merge the pull request, guarded by the head commit you see.
    Merge {
        /// Project folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// How to merge.
        #[arg(long, value_enum, default_value_t = Method::Merge)]
        method: Method,
        /// Wait for the checks and merge when they pass (not when they fail,
        /// nor when the head moves meanwhile).
        #[arg(long)]
        when_green: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The open pull requests of this folder's repository and of your
    /// projects (those added to the app).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// How to merge.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Method {
    Merge,
    Squash,
    Rebase,
}

impl From<Method> for MergeMethod {
    fn from(m: Method) -> Self {
        match m {
            Method::Merge => MergeMethod::Merge,
            Method::Squash => MergeMethod::Squash,
            Method::Rebase => MergeMethod::Rebase,
        }
    }
}

/// Whether a command prints JSON (its errors too).
pub fn wants_json(command: &PrCommand) -> bool {
    match command {
        PrCommand::Open { json, .. }
        | PrCommand::Status { json, .. }
        | PrCommand::Watch { json, .. }
        | PrCommand::Merge { json, .. }
        | PrCommand::List { json } => *json,
    }
}

pub async fn run(command: PrCommand) -> Result<u8, Problem> {
    match command {
        PrCommand::Open {
            dir,
            base,
            title,
            body,
            draft,
            no_preflight,
            push_anyway,
            json,
        } => {
            let project = Project::open_default(&dir).await?;
            let branch = project.feature_branch()?.to_string();
            if project.branch.changed_files > 0 && !json {
                eprintln!(
                    "note: {} changed file(s) are not committed and will not be pushed",
                    project.branch.changed_files
                );
            }
            if project.has_pipeline() && !no_preflight {
                if !json {
                    eprintln!("preflight: running the local pipeline before the push");
                }
                let code = crate::run(project.root.clone(), false, false, !json).await?;
                if code != EXIT_PASSED && push_anyway && !json {
                    eprintln!("warning: the preflight run failed; pushing anyway (--push-anyway)");
                }
                if code != EXIT_PASSED && !push_anyway {
                    return Err(Problem::new(
                        ErrorCode::PreflightFailed,
                        "the preflight run failed, so nothing was pushed",
                    )
                    .with_hint("Fix it and try again, or pass --push-anyway to push regardless."));
                }
            }
            slipway_core::git::push(&project.root, "origin", &branch, |line| {
                if !json {
                    eprintln!("  {line}");
                }
            })
            .await?;
            let (pull, opened) = project
                .open_pull_request(base.as_deref(), title, body, draft)
                .await?;
            if json {
                out!(
                    "{}",
                    serde_json::json!({ "pull_request": pull, "opened": opened })
                );
            } else if opened {
                out!("opened #{} {}\n{}", pull.number, pull.title, pull.url);
            } else {
                out!(
                    "pushed; #{} was already open for {branch}\n{}",
                    pull.number,
                    pull.url
                );
            }
            Ok(EXIT_PASSED)
        }
        PrCommand::Status { dir, json } => {
            let project = Project::open_default(&dir).await?;
            let pull = project.require_pull_request().await?;
            let checks = project.checks(&pull).await?;
            show_checks(&pull, &checks, json);
            Ok(exit_for(checks.state))
        }
        PrCommand::Watch { dir, json } => {
            let project = Project::open_default(&dir).await?;
            let pull = project.require_pull_request().await?;
            let rollup = watch(&project, &pull, json).await?;
            Ok(exit_for(rollup.state))
        }
        PrCommand::Merge {
            dir,
            method,
            when_green,
            json,
        } => merge(&dir, method.into(), when_green, json).await,
        PrCommand::List { json } => list(json).await,
    }
}

/// The open pull requests of this folder's repository and of the projects
/// added to the app, each repository once.
async fn list(json: bool) -> Result<u8, Problem> {
    let accounts = AccountStore::open_default()?;
    let here = std::path::Path::new(".");
    let in_repo = slipway_core::git::status(here).await.is_ok();
    let mut dirs: Vec<PathBuf> = Vec::new();
    if in_repo {
        dirs.push(here.canonicalize().unwrap_or_else(|_| here.to_path_buf()));
    }
    dirs.extend(slipway_core::project::recent_paths());
    let mut seen = Vec::new();
    let mut listed = Vec::new();
    for (n, dir) in dirs.iter().enumerate() {
        let project = match Project::open(dir, &accounts).await {
            Ok(p) => p,
            // The folder it runs in must work; a recent project may not be on GitHub.
            Err(problem) if n == 0 && in_repo => return Err(problem),
            Err(problem) => {
                tracing::debug!(dir = %dir.display(), "{}", problem.message);
                continue;
            }
        };
        if seen.contains(&project.repo) {
            continue;
        }
        let pulls = project.client.open_pulls(&project.repo).await?;
        seen.push(project.repo.clone());
        listed.push((project.repo.full_name(), pulls));
    }
    if seen.is_empty() {
        return Err(Problem::new(
            ErrorCode::NotFound,
            "no GitHub repository here or among your projects",
        )
        .with_hint(
            "Run it in a repository whose origin is on GitHub, or add projects in the app.",
        ));
    }
    if json {
        // Each pull request as the core describes it, with its repository.
        let rows: Vec<serde_json::Value> = listed
            .iter()
            .flat_map(|(repo, pulls)| {
                pulls.iter().map(move |pull| {
                    let mut row = serde_json::to_value(pull).unwrap_or_default();
                    row["repo"] = serde_json::json!(repo);
                    row
                })
            })
            .collect();
        out!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        );
        return Ok(EXIT_PASSED);
    }
    for (repo, pulls) in &listed {
        if pulls.is_empty() {
            out!("{repo}: no open pull requests");
            continue;
        }
        out!("{repo}:");
        for p in pulls {
            out!(
                "  #{:<5} {:<40} {} → {}{}",
                p.number,
                p.title,
                p.head_ref,
                p.base_ref,
                if p.draft { " (draft)" } else { "" }
            );
        }
    }
    Ok(EXIT_PASSED)
}

fn exit_for(state: CheckState) -> u8 {
    match state {
        CheckState::Success => EXIT_PASSED,
        CheckState::Failure => EXIT_FAILED,
        CheckState::Pending => EXIT_PENDING,
    }
}

fn state_word(state: CheckState) -> &'static str {
    match state {
        CheckState::Success => "passed",
        CheckState::Failure => "failed",
        CheckState::Pending => "pending",
    }
}

fn show_checks(pull: &PullRequest, checks: &ChecksRollup, json: bool) {
    if json {
        out!(
            "{}",
            serde_json::json!({ "pull_request": pull, "checks": checks })
        );
        return;
    }
    let (passed, total) = checks.passed();
    out!(
        "#{} {} ({} @ {}): checks {} ({passed}/{total} passed)",
        pull.number,
        pull.title,
        pull.head_ref,
        &pull.head_sha[..pull.head_sha.len().min(7)],
        state_word(checks.state)
    );
    for check in &checks.checks {
        let took = check
            .duration_ms
            .map(|ms| {
                format!(
                    " {}",
                    slipway_core::duration::display(Duration::from_millis(ms))
                )
            })
            .unwrap_or_default();
        out!(
            "  {:<8} {}{took}{}",
            state_word(check.state),
            check.name,
            check
                .url
                .as_deref()
                .map(|u| format!("  {u}"))
                .unwrap_or_default()
        );
    }
    if checks.checks.is_empty() {
        out!("  no checks reported yet");
    }
}

/// Follows the checks of the pull request's head until they finish.
async fn watch(project: &Project, pull: &PullRequest, json: bool) -> Result<ChecksRollup, Problem> {
    let required = project
        .client
        .required_checks(&project.repo, &pull.base_ref)
        .await?;
    let mut watch = ChecksWatch::new(project.repo.clone(), &pull.head_sha, required);
    let mut told_outage = false;
    loop {
        match watch.poll(&project.client).await {
            Ok(Some(rollup)) => {
                told_outage = false;
                show_checks(pull, &rollup, json);
                if rollup.state != CheckState::Pending {
                    return Ok(rollup);
                }
            }
            Ok(None) => {}
            Err(e @ slipway_core::github::GithubError::Unavailable { .. })
            | Err(e @ slipway_core::github::GithubError::RateLimited { .. }) => {
                if !told_outage {
                    let problem = e.problem();
                    eprintln!(
                        "warning: {}; still watching ({})",
                        problem.message,
                        problem.hint.unwrap_or_default()
                    );
                    told_outage = true;
                }
            }
            Err(e) => return Err(e.into()),
        }
        let wait = if told_outage {
            watch.interval(&project.client).max(Duration::from_secs(10))
        } else {
            watch.interval(&project.client)
        };
        tokio::time::sleep(wait).await;
    }
}

async fn merge(
    dir: &std::path::Path,
    method: MergeMethod,
    when_green: bool,
    json: bool,
) -> Result<u8, Problem> {
    let project = Project::open_default(dir).await?;
    let pull = project.require_pull_request().await?;
    if when_green {
        let rollup = watch(&project, &pull, json).await?;
        if rollup.state != CheckState::Success {
            return refused(
                Problem::new(
                    ErrorCode::Conflict,
                    format!("#{}'s checks failed, so it was not merged", pull.number),
                )
                .with_hint("Fix the failing checks and push; then merge again."),
                json,
            );
        }
    }
    match project.merge(&pull, method).await {
        Ok(sha) => {
            if json {
                out!(
                    "{}",
                    serde_json::json!({ "pull_request": pull.number, "merge": { "outcome": "merged", "sha": sha } })
                );
            } else {
                out!(
                    "merged #{} into {} ({})",
                    pull.number,
                    pull.base_ref,
                    slipway_core::git::short_sha(&sha)
                );
            }
            Ok(EXIT_PASSED)
        }
        Err(problem) if problem.code == ErrorCode::Conflict => refused(problem, json),
        Err(problem) => Err(problem),
    }
}

/// A merge that did not happen: said, and exit 1 (like a failed step).
fn refused(problem: Problem, json: bool) -> Result<u8, Problem> {
    crate::render::problem(&problem, json);
    Ok(EXIT_FAILED)
}
