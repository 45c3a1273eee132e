//! How the CLI shows things: a live step view for people, JSON lines for
//! programs.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use slipway_core::duration::display as dur;
use slipway_core::event::{Event, LogStream, Outcome, RunEvent, StepInfo, StepKind, StepStatus};
use slipway_core::store::{LogRecord, RunRecord, RunResult, StepRecord, StepState};
use slipway_core::{Problem, Remedy, Service};

struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn green(&self, t: &str) -> String {
        self.paint("32", t)
    }
    fn red(&self, t: &str) -> String {
        self.paint("31", t)
    }
    fn yellow(&self, t: &str) -> String {
        self.paint("33", t)
    }
    fn dim(&self, t: &str) -> String {
        self.paint("2", t)
    }
    fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
}

/// Whether stderr gets colour: a terminal, and NO_COLOR unset.
pub fn stderr_colored() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn style() -> Style {
    Style {
        color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// A remedy in the terminal's terms: the command that does it.
pub fn remedy(remedy: &Remedy) -> String {
    match remedy {
        Remedy::SignIn {
            service: Service::Github,
            host: None,
            ..
        } => "Sign in with `slipway login github --with-token`.".into(),
        Remedy::SignIn {
            service: Service::Github,
            host: Some(host),
            ..
        } => format!("Sign in with `slipway login github --host {host} --with-token`."),
        Remedy::SignIn {
            service: Service::Registry,
            host,
            user,
        } => format!(
            "Sign in with `slipway login registry {} -u {} --password-stdin`, then try again.",
            host.as_deref().unwrap_or("HOST"),
            user.as_deref().unwrap_or("USER")
        ),
        Remedy::SignIn {
            service: Service::Circleci,
            ..
        } => "Sign in with `slipway login circleci --with-token`.".into(),
        Remedy::ServeGit { host } if host == slipway_core::github::GITHUB_HOST => {
            "Let git push with your GitHub sign-in: `slipway login github --git`.".into()
        }
        Remedy::ServeGit { host } => format!(
            "Let git push with your GitHub sign-in: `slipway login github --host {host} --git`."
        ),
    }
}

/// What to do next, in the terminal's terms where the core named an action.
pub fn hint(hint: Option<&str>, action: Option<&Remedy>) -> Option<String> {
    action.map(remedy).or_else(|| hint.map(str::to_string))
}

/// A problem's hint in the terminal's terms.
pub fn problem_hint(problem: &Problem) -> Option<String> {
    hint(problem.hint.as_deref(), problem.remedy.as_ref())
}

/// Prints a problem: `error: ...` and a hint for people, one JSON object
/// for programs.
pub fn problem(problem: &Problem, json: bool) {
    let hint = problem_hint(problem);
    if json {
        let value = serde_json::json!({ "type": "error", "code": problem.code, "message": problem.message, "hint": hint });
        out!("{value}");
        return;
    }
    let s = Style {
        color: stderr_colored(),
    };
    eprintln!("{} {}", s.red("error:"), problem.message);
    if let Some(hint) = &hint {
        eprintln!("{} {hint}", s.yellow("hint:"));
    }
}

/// Prints a warning and its hint on stderr (stdout may be JSON lines).
pub fn warning(message: &str, hint: Option<&str>) {
    let s = Style {
        color: stderr_colored(),
    };
    eprintln!("{} {message}", s.yellow("warning:"));
    if let Some(hint) = hint {
        eprintln!("{} {hint}", s.yellow("hint:"));
    }
}

/// The live view of one run.
pub struct RunView {
    json: bool,
    verbose: bool,
    style: Style,
    steps: Vec<StepInfo>,
    spinner: Option<ProgressBar>,
    build_steps: (u32, u32),
    url: Option<String>,
    /// The result was told (before cleanup).
    told: bool,
    /// The run is a CircleCI workflow: jobs may run side by side.
    workflow: bool,
}

impl RunView {
    pub fn new(json: bool, verbose: bool) -> Self {
        RunView {
            json,
            verbose,
            style: style(),
            steps: Vec::new(),
            spinner: None,
            build_steps: (0, 0),
            url: None,
            told: false,
            workflow: false,
        }
    }

    fn line(&self, text: &str) {
        match &self.spinner {
            Some(pb) if !pb.is_hidden() => pb.println(text),
            _ => {
                let mut out = std::io::stdout().lock();
                // A closed stdout (piped into `head`) must not stop the run.
                let _ = writeln!(out, "{text}");
            }
        }
    }

    fn step_name(&self, step: usize) -> String {
        match self.steps.get(step) {
            Some(StepInfo {
                name,
                job: Some(job),
                ..
            }) => format!("{job} › {name}"),
            Some(info) => info.name.clone(),
            None => "?".into(),
        }
    }

    /// Shows one event. `seq` is the run's history number once known.
    pub fn show(&mut self, event: &RunEvent, seq: Option<i64>) {
        if self.json {
            if let Ok(line) = serde_json::to_string(event) {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
            return;
        }
        let s = &self.style;
        match &event.event {
            Event::RunStarted {
                project,
                image,
                git,
                engine,
                steps,
                workflow,
                ..
            } => {
                self.workflow = workflow.is_some();
                self.run_started(project, image, git.as_ref(), engine, steps);
                let s = &self.style;
                if let Some(workflow) = workflow {
                    let jobs: Vec<String> = workflow
                        .jobs
                        .iter()
                        .map(|j| match j.requires.as_slice() {
                            [] => j.name.clone(),
                            r => format!("{} (after {})", j.name, r.join(", ")),
                        })
                        .collect();
                    self.line(&s.dim(&format!("  jobs: {}", jobs.join(" · "))));
                }
            }
            Event::StepStarted { step } if !self.workflow => self.step_started(*step),
            Event::StepStarted { .. } => {}
            Event::JobStarted { job } => self.line(&format!("{} job {}", s.bold("▶"), s.bold(job))),
            Event::JobFinished {
                job,
                status,
                duration_ms,
                message,
            } => {
                let mark = match status {
                    StepStatus::Passed => s.green("✓"),
                    StepStatus::Failed => s.red("✗"),
                    StepStatus::Skipped => s.dim("–"),
                    StepStatus::Cancelled => s.yellow("■"),
                };
                let took = if *duration_ms > 0 {
                    dur(Duration::from_millis(*duration_ms))
                } else {
                    String::new()
                };
                let note = match status {
                    StepStatus::Passed => String::new(),
                    _ => message
                        .as_deref()
                        .and_then(|m| m.lines().next())
                        .unwrap_or_default()
                        .to_string(),
                };
                self.line(&format!(
                    "{mark} job {} {took}  {}",
                    s.bold(job),
                    s.dim(&note)
                ));
            }
            Event::ApprovalWaiting { job, .. } => {
                self.line(&format!("{} {job} waits for approval", s.yellow("⏸")))
            }
            Event::TestResults { job, cases, .. } => {
                let failed: Vec<&slipway_core::event::TestCase> = cases
                    .iter()
                    .filter(|c| {
                        matches!(
                            c.result,
                            slipway_core::event::TestResult::Failed
                                | slipway_core::event::TestResult::Error
                        )
                    })
                    .collect();
                let summary = format!("{} tests, {} failed", cases.len(), failed.len());
                self.line(&format!(
                    "  {job}: {}",
                    if failed.is_empty() {
                        s.green(&summary)
                    } else {
                        s.red(&summary)
                    }
                ));
                for case in failed {
                    let class = case
                        .classname
                        .as_deref()
                        .map(|c| format!("{c}."))
                        .unwrap_or_default();
                    let message = case
                        .message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default();
                    self.line(&format!(
                        "  {} {class}{}{}",
                        s.red("✗"),
                        case.name,
                        s.dim(&message)
                    ));
                }
            }
            Event::BuildStepStarted {
                number,
                total,
                instruction,
                ..
            } => {
                self.build_steps.1 = *total;
                if let Some(pb) = &self.spinner {
                    pb.set_message(format!("{number}/{total} {instruction}"));
                }
            }
            Event::BuildStepFinished {
                number,
                duration_ms,
                cached,
                ..
            } => {
                if *cached {
                    self.build_steps.0 += 1;
                }
                if self.verbose {
                    self.line(&s.dim(&format!(
                        "    step {number} done in {}{}",
                        dur(Duration::from_millis(*duration_ms)),
                        if *cached { " (cached)" } else { "" }
                    )));
                }
            }
            Event::ContextProgress { files, bytes, .. } => {
                if let Some(pb) = &self.spinner {
                    pb.set_message(format!(
                        "sending context: {files} files, {}",
                        human_bytes(*bytes)
                    ));
                }
            }
            Event::ContainerStarted { url, name, .. } => {
                self.url = url.clone();
                if let Some(pb) = &self.spinner {
                    pb.set_message(name.clone());
                }
            }
            Event::Log { step, stream, line } => self.log(*step, *stream, line),
            Event::StepFinished {
                step,
                status,
                duration_ms,
                message,
                ..
            } => self.step_finished(*step, *status, *duration_ms, message.as_deref()),
            Event::Verdict {
                outcome,
                duration_ms,
            } => {
                self.told = true;
                self.run_finished(outcome, *duration_ms, seq);
            }
            Event::RunFinished {
                outcome,
                duration_ms,
                ..
            } if !self.told => self.run_finished(outcome, *duration_ms, seq),
            Event::RunFinished { .. } => {}
            Event::ImageBuilt { .. } => {}
        }
    }

    /// The run's first line: project, image, branch and commit.
    fn run_started(
        &mut self,
        project: &str,
        image: &str,
        git: Option<&slipway_core::event::GitInfo>,
        engine: &str,
        steps: &[StepInfo],
    ) {
        let s = &self.style;
        self.steps = steps.to_vec();
        let git = git
            .map(|g| {
                format!(
                    " ({} @ {}{})",
                    g.branch.as_deref().unwrap_or("detached"),
                    &g.commit[..g.commit.len().min(7)],
                    if g.dirty { ", uncommitted changes" } else { "" }
                )
            })
            .unwrap_or_default();
        self.line(&format!("{} {project} → {image}{git}", s.bold("slipway")));
        if self.verbose {
            self.line(&s.dim(&format!("  on the Docker engine at {engine}")));
        }
    }

    /// A spinner for the step while it runs (on a terminal).
    fn step_started(&mut self, step: usize) {
        let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner:.cyan} {prefix:30} {elapsed:>4} {wide_msg:.dim}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        pb.set_prefix(self.step_name(step));
        pb.enable_steady_tick(Duration::from_millis(100));
        if !std::io::stdout().is_terminal() {
            pb.set_draw_target(ProgressDrawTarget::hidden());
        }
        self.spinner = Some(pb);
    }

    /// A log line: a test's output always, the rest with --verbose.
    fn log(&mut self, step: usize, stream: LogStream, line: &str) {
        let s = &self.style;
        let kind = self.steps.get(step).map(|s| s.kind);
        let show = self.verbose || (kind == Some(StepKind::Test) && stream != LogStream::Container);
        if show {
            let prefix = if stream == LogStream::Container {
                "  ┆ "
            } else {
                "  │ "
            };
            let job = match self.steps.get(step).and_then(|s| s.job.as_deref()) {
                Some(job) if self.workflow => format!("{job} "),
                _ => String::new(),
            };
            self.line(&format!("{}{line}", s.dim(&format!("{job}{prefix}"))));
        }
    }

    /// The step's line: mark, name, time and a note; a failure's message.
    fn step_finished(
        &mut self,
        step: usize,
        status: StepStatus,
        duration_ms: u64,
        message: Option<&str>,
    ) {
        let s = &self.style;
        if let Some(pb) = self.spinner.take() {
            pb.finish_and_clear();
        }
        let took = if status == StepStatus::Skipped && duration_ms == 0 {
            String::new()
        } else {
            dur(Duration::from_millis(duration_ms))
        };
        let mark = match status {
            StepStatus::Passed => s.green("✓"),
            StepStatus::Failed => s.red("✗"),
            StepStatus::Skipped => s.dim("–"),
            StepStatus::Cancelled => s.yellow("■"),
        };
        let name = self.step_name(step);
        let kind = self.steps.get(step).map(|s| s.kind);
        let note = match (status, kind) {
            (StepStatus::Passed, Some(StepKind::Build)) if self.build_steps.1 > 0 => {
                format!(
                    "{} instructions, {} cached",
                    self.build_steps.1, self.build_steps.0
                )
            }
            (StepStatus::Passed, Some(StepKind::Run)) => self.url.clone().unwrap_or_default(),
            (StepStatus::Failed, _) => String::new(),
            _ => message.unwrap_or_default().to_string(),
        };
        self.line(&format!("{mark} {name:30} {took:>6}  {}", s.dim(&note)));
        if status == StepStatus::Failed
            && let Some(message) = message
        {
            for (i, l) in message.lines().enumerate() {
                self.line(&if i == 0 {
                    format!("  {}", s.red(l))
                } else {
                    format!("  {}", s.dim(l))
                });
            }
        }
    }

    /// The verdict, with the run's history number.
    fn run_finished(&self, outcome: &Outcome, duration_ms: u64, seq: Option<i64>) {
        let s = &self.style;
        let took = dur(Duration::from_millis(duration_ms));
        let run = seq
            .map(|n| format!(" · run #{n} (`slipway logs {n}`)"))
            .unwrap_or_default();
        let text = match outcome {
            Outcome::Passed => format!("{} in {took}{run}", s.green(&s.bold("PASSED"))),
            Outcome::Failed { step_name, .. } => format!(
                "{} at {step_name:?} after {took}{run}",
                s.red(&s.bold("FAILED"))
            ),
            Outcome::Cancelled => format!(
                "{} after {took}{run}; containers removed",
                s.yellow(&s.bold("CANCELLED"))
            ),
            Outcome::Error { problem, .. } => {
                let hint = problem_hint(problem)
                    .map(|h| format!("\n{} {h}", s.yellow("hint:")))
                    .unwrap_or_default();
                format!("{} {}{hint}", s.red(&s.bold("ERROR")), problem.message)
            }
        };
        self.line(&text);
    }
}

/// A recorded run's test cases, failures first (a workflow's test results).
pub fn test_cases(tests: &[slipway_core::store::TestCaseRecord]) {
    if tests.is_empty() {
        return;
    }
    let s = style();
    let failed = tests
        .iter()
        .filter(|t| {
            matches!(
                t.case.result,
                slipway_core::event::TestResult::Failed | slipway_core::event::TestResult::Error
            )
        })
        .count();
    out!("test results: {} tests, {failed} failed", tests.len());
    for t in tests.iter().take(failed) {
        let class = t
            .case
            .classname
            .as_deref()
            .map(|c| format!("{c}."))
            .unwrap_or_default();
        let message = t
            .case
            .message
            .as_deref()
            .map(|m| format!(": {m}"))
            .unwrap_or_default();
        out!(
            "  {} {} {class}{}{}",
            s.red("✗"),
            t.job,
            t.case.name,
            s.dim(&message)
        );
    }
}

fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

fn ago(started_at_ms: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let secs = ((now - started_at_ms) / 1000).max(0);
    match secs {
        s if s < 60 => format!("{s}s ago"),
        s if s < 3600 => format!("{}m ago", s / 60),
        s if s < 86_400 => format!("{}h ago", s / 3600),
        s => format!("{}d ago", s / 86_400),
    }
}

/// How good a result is, for its colour.
enum Tone {
    Good,
    Bad,
    Neutral,
}

fn run_word(result: RunResult) -> (&'static str, Tone) {
    match result {
        RunResult::Running => ("running", Tone::Neutral),
        RunResult::Passed => ("passed", Tone::Good),
        RunResult::Failed => ("failed", Tone::Bad),
        RunResult::Cancelled => ("cancelled", Tone::Neutral),
        RunResult::Error => ("error", Tone::Bad),
        RunResult::Interrupted => ("interrupted", Tone::Neutral),
    }
}

fn step_word(state: StepState) -> (&'static str, Tone) {
    match state {
        StepState::Pending => ("pending", Tone::Neutral),
        StepState::Passed => ("passed", Tone::Good),
        StepState::Failed => ("failed", Tone::Bad),
        StepState::Skipped => ("skipped", Tone::Neutral),
        StepState::Cancelled => ("cancelled", Tone::Neutral),
    }
}

/// A result word, padded to `width`, in its colour.
fn result_word(s: &Style, (word, tone): (&str, Tone), width: usize) -> String {
    let padded = format!("{word:<width$}");
    match tone {
        Tone::Good => s.green(&padded),
        Tone::Bad => s.red(&padded),
        Tone::Neutral => s.yellow(&padded),
    }
}

/// Prints the history table.
pub fn history(runs: &[RunRecord]) {
    let s = style();
    if runs.is_empty() {
        out!("no runs yet; `slipway run DIR` starts one");
        return;
    }
    for r in runs {
        let git = match (&r.git_branch, &r.git_commit) {
            (Some(b), Some(c)) => format!("{b}@{}", &c[..c.len().min(7)]),
            (None, Some(c)) => c[..c.len().min(7)].to_string(),
            _ => "-".into(),
        };
        let took = r
            .duration_ms
            .map(|d| dur(Duration::from_millis(d as u64)))
            .unwrap_or_else(|| "-".into());
        let why = match (&r.failed_step, &r.message) {
            (Some(step), Some(m)) => format!("{step}: {m}"),
            (None, Some(m)) => m.clone(),
            _ => String::new(),
        };
        out!(
            "#{:<5} {:<20} {:<16} {:<18} {:>7}  {:<8}  {}",
            r.seq,
            result_word(&s, run_word(r.result), 11),
            r.project,
            git,
            took,
            ago(r.started_at_ms),
            s.dim(&why)
        );
    }
}

/// Prints a past run's steps and log.
pub fn logs(run: &RunRecord, steps: &[StepRecord], lines: &[LogRecord], dropped: u64) {
    let s = style();
    out!(
        "{} #{} {} {} ({})",
        s.bold("run"),
        run.seq,
        run.project,
        result_word(&s, run_word(run.result), 0),
        run.image
    );
    for step in steps {
        let took = step
            .duration_ms
            .map(|d| dur(Duration::from_millis(d as u64)))
            .unwrap_or_default();
        let code = step
            .exit_code
            .map(|c| format!(" exit {c}"))
            .unwrap_or_default();
        out!(
            "  {} {:<30} {:>6}{code}",
            result_word(&s, step_word(step.status), 9),
            step.name,
            took
        );
    }
    out!();
    let mut last_step = usize::MAX;
    for l in lines {
        if l.step != last_step {
            last_step = l.step;
            let name = steps.get(l.step).map(|st| st.name.as_str()).unwrap_or("?");
            out!("{}", s.bold(&format!("── {name}")));
        }
        out!("{}", l.line);
    }
    if dropped > 0 {
        out!(
            "{}",
            s.dim(&format!(
                "({dropped} lines from the middle of this run were not kept)"
            ))
        );
    }
}
