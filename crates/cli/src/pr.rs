//! `slipway pr`: the GitHub flow from the terminal, over the core's
//! [`slipway_core::flow`]: publish (preflight, push, pull request), its
//! checks, following them, merging, merge when green (armed exactly as the
//! window arms) and the deploy after the merge. This file only words what
//! the core reports.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Subcommand, ValueEnum};
use slipway_core::accounts::AccountStore;
use slipway_core::deploy::after_merge::{AfterMerge, AfterMergeEvent, MergeCommit, after_merge};
use slipway_core::deploy::{DeployState, Outcome, Refused, Stores};
use slipway_core::flow::Project;
use slipway_core::flow::armed::{ArmedMerges, DisarmReason};
use slipway_core::flow::follow::{ArmingChange, PullEvent, PullFollow};
use slipway_core::flow::follower::{ChecksNews, FollowNote, Stopped, finished, follow_checks};
use slipway_core::flow::list::open_pulls;
use slipway_core::flow::publish::{PublishEvent, PublishOptions, Published};
use slipway_core::flow::why::{rerun_failed, why_failed};
use slipway_core::github::checks::{CheckState, ChecksRollup};
use slipway_core::github::pulls::{MergeMethod, PullRequest, PullState};
use slipway_core::github::reviews::Reviews;
use slipway_core::secrets::Secrets;
use slipway_core::{ErrorCode, Problem};
use tokio_util::sync::CancellationToken;

use crate::{EXIT_CANCELLED, EXIT_FAILED, EXIT_PASSED};

/// Exit code of `pr status` while checks are still running (as `gh pr
/// checks`), and of `pr merge --when-green --detach` once armed.
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
        /// Put the preflight's result on the pushed commit as the status
        /// `slipway/preflight`, for reviewers to see.
        #[arg(long, conflicts_with = "no_preflight")]
        publish_preflight: bool,
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
    /// The checks, and why the failed ones failed (step, log, annotations):
    /// exit 0 green, 1 red, 8 pending.
    Checks {
        /// Project folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Show only the failed checks.
        #[arg(long)]
        failed: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the failed checks again (Actions' failed jobs, CircleCI's
    /// workflow from failed).
    Rerun {
        /// Project folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Run every job of their runs again, not only the failed ones.
        #[arg(long)]
        all: bool,
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
        /// Arm it to merge when its checks pass, as the window arms it (kept
        /// across restarts; GitHub's auto-merge where the repository allows
        /// it), and follow it until merged (0), red, disarmed or refused (1).
        /// A new push or a red check disarms it.
        #[arg(long)]
        when_green: bool,
        /// With --when-green: arm it and return at once (exit 8); the window,
        /// GitHub's auto-merge or a later `pr merge --when-green` merges it.
        #[arg(long, requires = "when_green")]
        detach: bool,
        /// Do not follow the merge commit to deploy it after the merge.
        #[arg(long)]
        no_deploy: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Disarm merge when green for the branch's pull request.
    Disarm {
        /// Project folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
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
        | PrCommand::Checks { json, .. }
        | PrCommand::Rerun { json, .. }
        | PrCommand::Watch { json, .. }
        | PrCommand::Merge { json, .. }
        | PrCommand::Disarm { json, .. }
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
            publish_preflight,
            json,
        } => {
            let options = PublishOptions {
                base,
                title,
                body,
                draft,
                preflight: !no_preflight,
                push_anyway,
                publish_preflight,
            };
            open(&dir, &options, json).await
        }
        PrCommand::Status { dir, json } => {
            let project = Project::open_default(&dir).await?;
            let listed = project.require_pull_request().await?;
            // The list leaves out `mergeable`; the pull request itself has it.
            let pull = project
                .client
                .pull(&project.repo, listed.number)
                .await
                .unwrap_or(listed);
            let (checks, reviews) = project.pull_status(&pull).await?;
            show_pull(&pull, &checks, Some(&reviews), json);
            Ok(exit_for(checks.state))
        }
        PrCommand::Checks { dir, failed, json } => checks(&dir, failed, json).await,
        PrCommand::Rerun { dir, all, json } => rerun(&dir, all, json).await,
        PrCommand::Watch { dir, json } => {
            let project = Project::open_default(&dir).await?;
            let pull = project.require_pull_request().await?;
            match watch(&project, &pull, json).await {
                Ok(rollup) => Ok(exit_for(rollup.state)),
                Err(Stopped::Cancelled) => Ok(EXIT_CANCELLED),
                Err(Stopped::Failed(problem)) => Err(problem),
            }
        }
        PrCommand::Merge {
            dir,
            method,
            when_green,
            detach,
            no_deploy,
            json,
        } => {
            let how = MergeHow {
                method: method.into(),
                when_green,
                detach,
                deploy: !no_deploy,
                json,
            };
            merge(&dir, &how).await
        }
        PrCommand::Disarm { dir, json } => disarm(&dir, json).await,
        PrCommand::List { json } => list(json).await,
    }
}

/// `pr checks`: each check, and why the failed ones failed.
async fn checks(dir: &Path, only_failed: bool, json: bool) -> Result<u8, Problem> {
    let project = Project::open_default(dir).await?;
    let pull = project.require_pull_request().await?;
    let checks = project.checks(&pull).await?;
    let accounts = AccountStore::open_default()?;
    let failed = why_failed(&project, &accounts, &checks).await;
    if json {
        out!(
            "{}",
            serde_json::json!({ "pull_request": pull, "checks": checks, "failed": failed })
        );
        return Ok(exit_for(checks.state));
    }
    let (passed, total) = checks.passed();
    out!(
        "#{} {} ({}): checks {} ({passed}/{total} passed)",
        pull.number,
        pull.title,
        slipway_core::git::short_sha(&pull.head_sha),
        state_word(checks.state)
    );
    for check in &checks.checks {
        if only_failed && check.state != CheckState::Failure {
            continue;
        }
        out!("{}", check_line(check, ""));
        let Some(why) = failed.iter().find(|f| f.name == check.name) else {
            continue;
        };
        if let Some(step) = &why.step {
            out!("           failed at: {step}");
        }
        for line in &why.lines {
            out!("           │ {line}");
        }
        for a in &why.annotations {
            let at = a.line.map(|l| format!(":{l}")).unwrap_or_default();
            out!("           {}{at}: {}: {}", a.path, a.level, a.message);
        }
        if let Some(note) = &why.note {
            out!("           ({note})");
        }
    }
    if let Some(waiting) = checks.waiting_for() {
        out!("  {waiting}");
    }
    if !failed.is_empty() {
        out!("re-run them with `slipway pr rerun`");
    }
    Ok(exit_for(checks.state))
}

/// `pr rerun`: the failed checks run again.
async fn rerun(dir: &Path, all: bool, json: bool) -> Result<u8, Problem> {
    let project = Project::open_default(dir).await?;
    let pull = project.require_pull_request().await?;
    let checks = project.checks(&pull).await?;
    let accounts = AccountStore::open_default()?;
    let done = rerun_failed(&project, &accounts, &checks, all).await?;
    if json {
        out!(
            "{}",
            serde_json::json!({ "pull_request": pull.number, "rerun": done })
        );
        return Ok(EXIT_PASSED);
    }
    if done.checks.is_empty() && done.skipped.is_empty() {
        out!("#{}: no failed checks to re-run", pull.number);
    }
    if !done.checks.is_empty() {
        out!(
            "#{}: re-running {}; follow them with `slipway pr watch`",
            pull.number,
            done.checks.join(", ")
        );
    }
    for (name, why) in &done.skipped {
        eprintln!("{name} not re-run: {why}");
    }
    Ok(EXIT_PASSED)
}

/// `slipway status`: every project's branches and pull requests.
pub async fn status_all(json: bool) -> Result<u8, Problem> {
    let accounts = AccountStore::open_default()?;
    let (dirs, _) = project_dirs().await;
    let all = slipway_core::radar::status(&dirs, &accounts).await;
    if json {
        out!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
        return Ok(EXIT_PASSED);
    }
    if all.is_empty() {
        out!("no projects: run it in a repository, or add projects in the app");
        return Ok(EXIT_PASSED);
    }
    let mut rows: Vec<[String; 4]> = Vec::new();
    for project in &all {
        if let Some(problem) = &project.problem {
            rows.push([
                project.name.clone(),
                "-".into(),
                "unknown".into(),
                problem.message.clone(),
            ]);
            continue;
        }
        for branch in &project.branches {
            let (state, detail) = match (branch.state(), &branch.checks) {
                (None, _) => ("-".to_string(), "not on GitHub".to_string()),
                (Some(state), checks) => (
                    state_word(state).to_string(),
                    checks.as_ref().map(rollup_detail).unwrap_or_default(),
                ),
            };
            let what = match branch.default {
                true => format!("{} (default)", branch.branch),
                false => branch.branch.clone(),
            };
            rows.push([project.name.clone(), what, state, detail]);
        }
        for p in &project.pulls {
            rows.push([
                project.name.clone(),
                format!("#{} {}", p.pull.number, p.pull.head_ref),
                state_word(p.checks.state).to_string(),
                format!("{} · {}", rollup_detail(&p.checks), p.reviews.summary()),
            ]);
        }
    }
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w0, w1, w2) = (width(0).max(7), width(1).max(4), width(2).max(5));
    out!(
        "{:<w0$}  {:<w1$}  {:<w2$}  DETAIL",
        "PROJECT",
        "WHAT",
        "STATE"
    );
    for [project, what, state, detail] in &rows {
        out!("{project:<w0$}  {what:<w1$}  {state:<w2$}  {detail}");
    }
    Ok(EXIT_PASSED)
}

/// `3/3 checks passed`, `lint failed`, `waiting for …`.
fn rollup_detail(checks: &ChecksRollup) -> String {
    let failed = checks.failed_names();
    if !failed.is_empty() {
        return format!("{} failed", failed.join(", "));
    }
    if let Some(waiting) = checks.waiting_for() {
        return waiting;
    }
    let (passed, total) = checks.passed();
    format!("{passed}/{total} checks passed")
}

/// This folder (when it is a repository: then `true`) and the projects
/// added to the app, each once.
async fn project_dirs() -> (Vec<PathBuf>, bool) {
    let here = std::path::Path::new(".");
    let mut dirs: Vec<PathBuf> = Vec::new();
    let in_repo = slipway_core::git::status(here).await.is_ok();
    if in_repo {
        dirs.push(here.canonicalize().unwrap_or_else(|_| here.to_path_buf()));
    }
    for dir in slipway_core::project::recent_paths() {
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    (dirs, in_repo)
}

/// The open pull requests of this folder's repository and of the projects
/// added to the app, each repository once.
async fn list(json: bool) -> Result<u8, Problem> {
    let accounts = AccountStore::open_default()?;
    let (dirs, in_repo) = project_dirs().await;
    let open = open_pulls(&dirs, &accounts).await;
    // The folder it runs in must work; a recent project may not be on GitHub.
    if let Some((_, problem)) = open
        .problems
        .iter()
        .find(|(d, _)| in_repo && Some(d) == dirs.first())
    {
        return Err(problem.clone());
    }
    for (dir, problem) in &open.problems {
        tracing::debug!(dir = %dir.display(), "{}", problem.message);
    }
    if open.projects.is_empty() {
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
        let rows: Vec<serde_json::Value> = open
            .projects
            .iter()
            .flat_map(|p| {
                p.pulls.iter().enumerate().map(move |(i, pull)| {
                    let mut row = serde_json::to_value(pull).unwrap_or_default();
                    row["repo"] = serde_json::json!(p.repo.full_name());
                    row["reviews"] = serde_json::json!(p.reviews.get(i).cloned().flatten());
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
    for listed in &open.projects {
        let repo = listed.repo.full_name();
        if listed.pulls.is_empty() {
            out!("{repo}: no open pull requests");
            continue;
        }
        out!("{repo}:");
        for (i, p) in listed.pulls.iter().enumerate() {
            let reviews = listed
                .reviews
                .get(i)
                .and_then(Option::as_ref)
                .map(|r| format!("  {}", r.summary()))
                .unwrap_or_default();
            out!(
                "  #{:<5} {:<40} {} → {}{}{reviews}",
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

fn show_pull(pull: &PullRequest, checks: &ChecksRollup, reviews: Option<&Reviews>, json: bool) {
    if json {
        out!(
            "{}",
            serde_json::json!({ "pull_request": pull, "checks": checks, "reviews": reviews })
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
        out!("{}", check_line(check, &took));
    }
    if let Some(waiting) = checks.waiting_for() {
        out!("  {waiting}");
    }
    if let Some(reviews) = reviews {
        out!("  reviews: {}", reviews.summary());
        if let Some(waiting) = &reviews.waiting_for {
            out!("  {waiting}");
        }
    }
    if pull.mergeable == Some(false) {
        out!(
            "  conflicts with {}: merge it into {} (or rebase), resolve and push before merging",
            pull.base_ref,
            pull.head_ref
        );
    }
}

/// One check: its state, name, `took` and page.
fn check_line(check: &slipway_core::github::checks::Check, took: &str) -> String {
    format!(
        "  {:<8} {}{took}{}",
        state_word(check.state),
        check.name,
        check
            .url
            .as_deref()
            .map(|u| format!("  {u}"))
            .unwrap_or_default()
    )
}

/// Follows the checks of the pull request's head until they finish;
/// Ctrl-C stops following.
async fn watch(project: &Project, pull: &PullRequest, json: bool) -> Result<ChecksRollup, Stopped> {
    let expect = project
        .expectations(&pull.base_ref, &pull.head_sha)
        .await
        .map_err(Stopped::Failed)?;
    let cancel = cancel_on_ctrl_c();
    follow_checks(
        &project.client,
        &project.repo,
        &pull.head_sha,
        expect,
        &cancel,
        |news| match news {
            ChecksNews::Changed(rollup) => show_pull(pull, rollup, None, json),
            ChecksNews::Note(note) => tell_note(note),
        },
        finished,
    )
    .await
}

/// A token that fires on Ctrl-C.
fn cancel_on_ctrl_c() -> CancellationToken {
    let cancel = CancellationToken::new();
    let fire = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            fire.cancel();
        }
    });
    cancel
}

/// An outage or recovery while following, on stderr.
fn tell_note(note: FollowNote) {
    match note {
        FollowNote::Outage { problem, retry_in } => eprintln!(
            "warning: {}; still following, next look in {} s",
            problem.message,
            retry_in.as_secs().max(1)
        ),
        FollowNote::Back => eprintln!("GitHub answers again"),
    }
}

/// `pr open`: publish, worded for the terminal.
async fn open(dir: &Path, options: &PublishOptions, json: bool) -> Result<u8, Problem> {
    let project = Project::open_default(dir).await?;
    let published = project
        .publish(
            options,
            async |pipeline| {
                Ok(crate::run::run_pipeline(pipeline, false, false, !json).await? == EXIT_PASSED)
            },
            |event| {
                if !json {
                    tell_publish(event)
                }
            },
        )
        .await?;
    let (pull, opened) = match published {
        Published::Opened(pull) => (pull, true),
        Published::AlreadyOpen(pull) => (pull, false),
        Published::PreflightFailed => {
            return Err(Problem::new(
                ErrorCode::PreflightFailed,
                "the preflight run failed, so nothing was pushed",
            )
            .with_hint("Fix it and try again, or pass --push-anyway to push regardless."));
        }
    };
    if json {
        out!(
            "{}",
            serde_json::json!({ "pull_request": pull, "opened": opened })
        );
    } else if opened {
        out!("opened #{} {}\n{}", pull.number, pull.title, pull.url);
    } else {
        out!(
            "pushed; #{} was already open for {}\n{}",
            pull.number,
            pull.head_ref,
            pull.url
        );
    }
    Ok(EXIT_PASSED)
}

fn tell_publish(event: PublishEvent) {
    match event {
        PublishEvent::Uncommitted { files } => {
            eprintln!("note: {files} changed file(s) are not committed and will not be pushed")
        }
        PublishEvent::Preflight { commit, worktree } => {
            let short = slipway_core::git::short_sha(&commit);
            match worktree {
                true => eprintln!(
                    "preflight: running the local pipeline on {short} as committed, in a temporary worktree (your files are untouched)"
                ),
                false => {
                    eprintln!("preflight: running the local pipeline on {short} before the push")
                }
            }
        }
        PublishEvent::PushingAnyway => {
            eprintln!("warning: the preflight run failed; pushing anyway (--push-anyway)")
        }
        PublishEvent::Pushing { branch } => eprintln!("pushing {branch} to origin"),
        // git's progress lines are for a terminal; a log gets a line per step.
        PublishEvent::PushProgress(line) if std::io::stderr().is_terminal() => {
            eprintln!("  {line}")
        }
        PublishEvent::PushProgress(_) => {}
        PublishEvent::PreflightPublished { passed } => eprintln!(
            "note: the preflight's result ({}) is on GitHub as the status {}",
            if passed { "passed" } else { "failed" },
            slipway_core::flow::publish::PREFLIGHT_CONTEXT
        ),
        PublishEvent::PreflightNotPublished { reason } => {
            eprintln!("warning: the preflight's result was not published: {reason}")
        }
        PublishEvent::Opening => {}
    }
}

/// How `pr merge` was asked to merge.
struct MergeHow {
    method: MergeMethod,
    when_green: bool,
    detach: bool,
    deploy: bool,
    json: bool,
}

async fn merge(dir: &Path, how: &MergeHow) -> Result<u8, Problem> {
    let project = Project::open_default(dir).await?;
    let pull = project.require_pull_request().await?;
    let store = ArmedMerges::open_default()?;
    let mut follow = PullFollow::start(project, pull.clone(), store).await?;
    let json = how.json;
    if !how.when_green {
        return match follow.merge(&pull.head_sha, how.method).await {
            Ok(events) => {
                let merged = events.iter().find_map(|e| match e {
                    PullEvent::Merged { base, sha } => Some((base.clone(), sha.clone())),
                    _ => None,
                });
                let (base, sha) = merged.unwrap_or_default();
                said_merged(pull.number, &base, &sha, json);
                deploy_after(follow.project(), &base, &sha, how).await
            }
            Err(problem) if problem.code == ErrorCode::Conflict => refused(problem, json),
            Err(problem) => Err(problem),
        };
    }
    // Listening for Ctrl-C from before the arming: it then only stops following.
    let cancel = cancel_on_ctrl_c();
    if let Err(problem) = follow.arm(&pull.head_sha, how.method).await {
        return match problem.code {
            ErrorCode::Conflict => refused(problem, json),
            _ => Err(problem),
        };
    }
    let armed = follow.view().armed.clone();
    let auto = armed.as_ref().is_some_and(|a| a.auto_merge);
    if json {
        out!(
            "{}",
            serde_json::json!({ "pull_request": pull.number, "armed": armed })
        );
    } else {
        out!(
            "armed #{} to merge when {} is green{}",
            pull.number,
            slipway_core::git::short_sha(&pull.head_sha),
            if auto {
                " (GitHub's auto-merge is on)"
            } else {
                ""
            }
        );
    }
    if how.detach {
        if !json {
            eprintln!(
                "it stays armed: the window, GitHub's auto-merge or `slipway pr merge --when-green` merges it; `slipway pr disarm` disarms it"
            );
        }
        return Ok(EXIT_PENDING);
    }
    let mut merged: Option<(String, String)> = None;
    let mut disarmed: Option<DisarmReason> = None;
    let followed = follow
        .run(
            &cancel,
            |event| match event {
                PullEvent::Changed {
                    view,
                    arming,
                    transition,
                    review,
                } => {
                    if let Some(checks) = view
                        .checks
                        .as_ref()
                        .filter(|_| transition.is_some() || review.is_some() || !json)
                    {
                        show_pull(&view.pull, checks, view.reviews.as_ref(), json);
                    }
                    if let Some(ArmingChange::Disarmed(reason)) = arming {
                        disarmed = Some(reason);
                    }
                }
                PullEvent::Note(note) => tell_note(note),
                PullEvent::Merged { base, sha } => merged = Some((base, sha)),
            },
            |view| view.armed.is_none() && view.pull.state == PullState::Open,
        )
        .await;
    match followed {
        Err(Stopped::Cancelled) => {
            if follow.view().armed.is_some() {
                eprintln!(
                    "stopped following; #{} stays armed to merge when green (`slipway pr disarm` disarms it)",
                    pull.number
                );
            }
            return Ok(EXIT_CANCELLED);
        }
        Err(Stopped::Failed(problem)) => return Err(problem),
        Ok(()) => {}
    }
    if let Some((base, sha)) = merged {
        said_merged(pull.number, &base, &sha, json);
        return deploy_after(follow.project(), &base, &sha, how).await;
    }
    let view = follow.view();
    let problem = match (disarmed, view.pull.state) {
        (Some(DisarmReason::Red { failed }), _) => Problem::new(
            ErrorCode::Conflict,
            format!(
                "#{}'s checks failed, so it was not merged{}; no longer armed",
                pull.number,
                match failed.is_empty() {
                    true => String::new(),
                    false => format!(" ({} failed)", failed.join(", ")),
                }
            ),
        )
        .with_hint("Fix the failing checks and push; then arm it again."),
        (Some(reason), _) => Problem::new(
            ErrorCode::Conflict,
            format!("#{} was not merged: {reason}", pull.number),
        )
        .with_hint("Check the pull request, then arm it again."),
        (None, _) => Problem::new(
            ErrorCode::Conflict,
            format!("#{} was not merged: it was disarmed", pull.number),
        )
        .with_hint("Arm it again with `slipway pr merge --when-green`."),
    };
    refused(problem, json)
}

fn said_merged(number: u64, base: &str, sha: &str, json: bool) {
    if json {
        out!(
            "{}",
            serde_json::json!({ "pull_request": number, "merge": { "outcome": "merged", "sha": sha } })
        );
    } else {
        out!(
            "merged #{number} into {base} ({})",
            slipway_core::git::short_sha(sha)
        );
    }
}

/// After a merge: follows the merge commit and deploys it through the
/// after-merge trigger, unless asked not to or there is none.
async fn deploy_after(
    project: &Project,
    base: &str,
    sha: &str,
    how: &MergeHow,
) -> Result<u8, Problem> {
    if !how.deploy || sha.is_empty() {
        return Ok(EXIT_PASSED);
    }
    let Ok(pipeline) = slipway_core::project::pipeline(&project.root) else {
        return Ok(EXIT_PASSED);
    };
    let json = how.json;
    let cancel = cancel_on_ctrl_c();
    let accounts = AccountStore::open_default()?;
    let stores = Stores {
        secrets: &Secrets::os(),
        accounts: &accounts,
        history: None,
    };
    let ended = after_merge(
        project,
        &pipeline,
        MergeCommit { base, sha },
        stores,
        &cancel,
        |event| match event {
            AfterMergeEvent::Waiting { trigger, branch, sha } if !json => eprintln!(
                "deploy after merge: waiting for {} to go green on {branch}, then deploying via {trigger} (Ctrl-C stops waiting; `slipway deploy` deploys later)",
                slipway_core::git::short_sha(&sha)
            ),
            AfterMergeEvent::Note(note) => tell_note(note),
            _ => {}
        },
    )
    .await;
    match ended {
        Ok(AfterMerge::NoTrigger) => Ok(EXIT_PASSED),
        Ok(AfterMerge::Fired(Outcome::Sent(record))) => {
            if json {
                out!("{}", serde_json::json!({ "deploy": record }));
            } else {
                crate::deploy::show(&record);
            }
            Ok(match record.state {
                DeployState::Succeeded => EXIT_PASSED,
                _ => EXIT_FAILED,
            })
        }
        // Deployed already (the window followed the same merge): merged and deployed.
        Ok(AfterMerge::Fired(Outcome::Refused(
            done @ (Refused::AlreadyDeployed(_) | Refused::InFlight(_)),
        ))) => {
            if !json {
                eprintln!("deploy after merge: {done}");
            }
            Ok(EXIT_PASSED)
        }
        Ok(AfterMerge::Fired(Outcome::Refused(why))) => {
            refused(crate::deploy::refusal(&why), json)
        }
        Ok(AfterMerge::Red { sha, branch, failed }) => refused(
            Problem::new(
                ErrorCode::Conflict,
                format!(
                    "merged, but the merge commit {} is red on {branch} ({} failed): not deployed",
                    slipway_core::git::short_sha(&sha),
                    failed.join(", ")
                ),
            )
            .with_hint("Fix the failing checks on the branch and merge the fix; the deploy follows its merge."),
            json,
        ),
        Ok(AfterMerge::TimedOut { sha }) => refused(
            Problem::new(
                ErrorCode::Conflict,
                format!(
                    "merged, but the merge commit {}'s checks did not finish in an hour: not deployed",
                    slipway_core::git::short_sha(&sha)
                ),
            )
            .with_hint("Deploy it once it is green with `slipway deploy`."),
            json,
        ),
        Err(Stopped::Cancelled) => {
            eprintln!("stopped waiting: merged, not deployed (`slipway deploy` deploys it once green)");
            Ok(EXIT_CANCELLED)
        }
        Err(Stopped::Failed(problem)) => Err(problem),
    }
}

/// `pr disarm`: merge when green disarmed for the branch's pull request.
async fn disarm(dir: &Path, json: bool) -> Result<u8, Problem> {
    let project = Project::open_default(dir).await?;
    let pull = project.require_pull_request().await?;
    let store = ArmedMerges::open_default()?;
    let was = match store.find(&project.repo, pull.number) {
        Some(armed) => {
            project.disarm(&armed, &pull, &store).await?;
            true
        }
        None => false,
    };
    if json {
        out!(
            "{}",
            serde_json::json!({ "pull_request": pull.number, "disarmed": was })
        );
    } else if was {
        out!(
            "disarmed #{}: it will not be merged when green",
            pull.number
        );
    } else {
        out!("#{} was not armed", pull.number);
    }
    Ok(EXIT_PASSED)
}

/// A merge that did not happen: said, and exit 1 (like a failed step).
fn refused(problem: Problem, json: bool) -> Result<u8, Problem> {
    crate::render::problem(&problem, json);
    Ok(EXIT_FAILED)
}
