//! `slipway run` and `slipway init`: the project's pipeline, run (recorded
//! in the history by the core) and shown as it goes, or written out.

use std::path::PathBuf;

use slipway_core::config;
use slipway_core::event::{Event, Outcome};
use slipway_core::record::RecordedRun;
use slipway_core::{ErrorCode, Problem};

use crate::render;
use crate::{EXIT_BAD_INPUT, EXIT_CANCELLED, EXIT_ENVIRONMENT, EXIT_FAILED, EXIT_PASSED};

/// What to run of a CircleCI 2.x config (a project without slipway.toml).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WorkflowArgs {
    /// Run this workflow of .circleci/config.yml (default: the one for the branch).
    #[arg(long, value_name = "W")]
    pub workflow: Option<String>,
    /// Run only this job of .circleci/config.yml, without what it requires.
    #[arg(long, value_name = "J")]
    pub job: Option<String>,
    /// A pipeline parameter of .circleci/config.yml, NAME=VALUE (repeatable).
    #[arg(long = "parameter", value_name = "NAME=VALUE")]
    pub parameters: Vec<String>,
    /// Approve the workflow's approval jobs without asking.
    #[arg(long)]
    pub approve: bool,
}

/// `slipway run`: the project's pipeline, or its CircleCI workflow when it
/// has `.circleci/config.yml` and no slipway.toml.
pub async fn run_command(
    dir: PathBuf,
    json: bool,
    verbose: bool,
    args: WorkflowArgs,
) -> Result<u8, Problem> {
    let root = project_folder(&dir)?;
    if slipway_core::workflow::config_of(&root).is_some() {
        return run_workflow(root, json, verbose, args).await;
    }
    if args.workflow.is_some() || args.job.is_some() || !args.parameters.is_empty() {
        let why = if root.join(config::FILE_NAME).exists() {
            format!(
                "{} has a {}, which runs instead",
                root.display(),
                config::FILE_NAME
            )
        } else {
            format!(
                "{} has no {}",
                root.display(),
                slipway_core::workflow::CONFIG_PATH
            )
        };
        return Err(Problem::new(
            ErrorCode::BadConfig,
            format!("--workflow, --job and --parameter run a CircleCI 2.x workflow: {why}"),
        )
        .with_hint("Drop those flags, or run the folder of a project with .circleci/config.yml."));
    }
    run(dir, json, verbose, true).await
}

/// Runs the project's CircleCI workflow, recorded in the history.
async fn run_workflow(
    root: PathBuf,
    json: bool,
    verbose: bool,
    args: WorkflowArgs,
) -> Result<u8, Problem> {
    let mut parameters = Vec::new();
    for given in &args.parameters {
        let Some((name, value)) = given.split_once('=') else {
            return Err(Problem::new(
                ErrorCode::BadConfig,
                format!("--parameter {given:?} is not NAME=VALUE"),
            ));
        };
        parameters.push((name.trim().to_string(), value.to_string()));
    }
    let select = slipway_core::workflow::Selection {
        workflow: args.workflow.clone(),
        job: args.job.clone(),
    };
    let secrets = slipway_core::secrets::Secrets::os();
    let prepared =
        slipway_core::workflow::prepare(&root, &select, parameters, Some(&secrets)).await?;
    // On stderr, also with --json: stdout stays events only.
    for note in &prepared.notes {
        eprintln!("note: {note}");
    }
    let run = RecordedRun::start_workflow(prepared, None, true).await?;
    let approver = Approver {
        auto: args.approve,
        json,
    };
    drive(run, json, verbose, true, Some(approver)).await
}

/// How a workflow's approval jobs are answered.
#[derive(Debug, Clone, Copy)]
struct Approver {
    /// `--approve`: yes to each, without asking.
    auto: bool,
    json: bool,
}

impl Approver {
    /// Asks on the terminal (or reads a line of stdin): `y` approves.
    fn ask(self, job: String) -> tokio::sync::oneshot::Receiver<(String, bool)> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.auto {
            if !self.json {
                eprintln!("approved {job} (--approve)");
            }
            let _ = tx.send((job, true));
            return rx;
        }
        std::thread::spawn(move || {
            use std::io::Write;
            eprint!("{job} waits for approval. Approve it? [y/N] ");
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            let approved = std::io::stdin().read_line(&mut answer).is_ok()
                && matches!(answer.trim(), "y" | "Y" | "yes" | "Yes");
            let _ = tx.send((job, approved));
        });
        rx
    }
}

/// Runs the pipeline in `dir`; `show` false runs it without printing.
pub async fn run(dir: PathBuf, json: bool, verbose: bool, show: bool) -> Result<u8, Problem> {
    let pipeline = slipway_core::project::pipeline(&dir).map_err(|e| e.problem())?;
    if let config::PipelineSource::Imported { path } = &pipeline.source
        && show
        && !json
    {
        eprintln!(
            "note: no {}: running the pipeline imported from {} (`slipway import --write` saves it)",
            config::FILE_NAME,
            path.display()
        );
    }
    run_pipeline(pipeline, json, verbose, show).await
}

/// Runs the pipeline of `dir` as committed at `reference`, in a temporary
/// worktree removed after the run.
pub async fn run_at(
    dir: PathBuf,
    reference: &str,
    json: bool,
    verbose: bool,
) -> Result<u8, Problem> {
    let at = slipway_core::project::pipeline_at(&dir, reference).await?;
    if !json {
        eprintln!(
            "note: running {} as committed at {} ({}), in a temporary worktree; your files are not touched",
            at.pipeline.project,
            reference,
            slipway_core::git::short_sha(&at.commit)
        );
    }
    let code = run_pipeline(at.pipeline, json, verbose, true).await;
    drop(at.worktree);
    code
}

/// Runs `pipeline`, recorded in the history, showing it as it goes.
pub async fn run_pipeline(
    pipeline: config::Pipeline,
    json: bool,
    verbose: bool,
    show: bool,
) -> Result<u8, Problem> {
    let run = RecordedRun::start(pipeline, None, true).await?;
    drive(run, json, verbose, show, None).await
}

/// Shows a recorded run until it ends (answering a workflow's approvals
/// with `approver`); its exit code.
async fn drive(
    mut run: RecordedRun,
    json: bool,
    verbose: bool,
    show: bool,
    approver: Option<Approver>,
) -> Result<u8, Problem> {
    if let Some(summary) = run.recovered.summary() {
        eprintln!("note: {summary}");
    }
    let cancel = run.handle().map(|h| h.cancel_token()).unwrap_or_default();
    let mut view = render::RunView::new(json, verbose);
    let signals = tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let term_signal = async {
            match term.as_mut() {
                Some(t) => t.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term_signal => {}
        }
        cancel.cancel();
    });
    let mut finished = None;
    let mut shown = |event: &slipway_core::event::RunEvent, seq| match &event.event {
        Event::RunFinished { .. } => finished = Some(event.clone()),
        _ if show => view.show(event, seq),
        _ => {}
    };
    let mut answers: futures_util::stream::FuturesUnordered<
        tokio::sync::oneshot::Receiver<(String, bool)>,
    > = futures_util::stream::FuturesUnordered::new();
    loop {
        let more = tokio::select! {
            more = run.next() => more,
            Some(Ok(answer)) = futures_util::StreamExt::next(&mut answers), if !answers.is_empty() => {
                let (job, approved): (String, bool) = answer;
                if let Some(handle) = run.handle() {
                    handle.approve(&job, approved);
                }
                continue;
            }
        };
        if !more {
            break;
        }
        let seq = run.seq();
        let received = run.received();
        if let Some(approver) = approver {
            for event in received {
                if let Event::ApprovalWaiting { job, .. } = &event.event {
                    answers.push(approver.ask(job.clone()));
                }
            }
        }
        let verdict = received
            .iter()
            .position(|e| matches!(e.event, Event::Verdict { .. }));
        let Some(at) = verdict else {
            received.iter().for_each(|event| shown(event, seq));
            continue;
        };
        received[..at].iter().for_each(|event| shown(event, seq));
        // The verdict is told once the history has it, before cleanup ends.
        let rest = received[at..].to_vec();
        run.settle().await;
        rest.iter().for_each(|event| shown(event, run.seq()));
    }
    signals.abort();
    // The result names the run's history number: shown once it is written.
    let result = run.finish().await;
    if let Some(event) = finished.as_ref().filter(|_| show) {
        view.show(event, result.seq);
    }
    if let Some(lost) = &result.lost {
        let problem = lost.problem();
        render::warning(
            &format!("this run was not kept in the history: {}", problem.message),
            render::problem_hint(&problem).as_deref(),
        );
    }
    Ok(match result.outcome {
        Outcome::Passed => EXIT_PASSED,
        Outcome::Failed { .. } => EXIT_FAILED,
        Outcome::Cancelled => EXIT_CANCELLED,
        Outcome::Error { problem, .. } if problem.code.is_bad_input() => EXIT_BAD_INPUT,
        Outcome::Error { .. } => EXIT_ENVIRONMENT,
    })
}

/// The project folder `dir` names, or why it cannot be opened.
pub fn project_folder(dir: &std::path::Path) -> Result<PathBuf, Problem> {
    dir.canonicalize().map_err(|e| {
        Problem::new(
            ErrorCode::BadConfig,
            format!("cannot open {}: {e}", dir.display()),
        )
        .with_hint("Pass the project's folder.")
    })
}

pub fn init(dir: PathBuf, force: bool) -> Result<u8, Problem> {
    let root = project_folder(&dir)?;
    let path = root.join(config::FILE_NAME);
    if path.exists() && !force {
        return Err(Problem::new(
            ErrorCode::BadConfig,
            format!("{} already exists", path.display()),
        )
        .with_hint("Edit it, or pass --force to replace it with a freshly inferred one."));
    }
    let pipeline = config::infer(&root).map_err(|e| e.problem())?;
    let text = config::init_template(&pipeline);
    slipway_core::paths::write_atomic(&path, text.as_bytes()).map_err(|e| {
        Problem::new(
            ErrorCode::Io,
            format!("cannot write {}: {e}", path.display()),
        )
    })?;
    out!("wrote {}", path.display());
    match pipeline.run.ports.first() {
        Some(p) => out!(
            "  image {}, container port {}, readiness GET / ",
            pipeline.image,
            p.container_port
        ),
        None => out!(
            "  image {}; the Dockerfile EXPOSEs no port, so there is no readiness probe yet",
            pipeline.image
        ),
    }
    out!(
        "next: add [[test]] steps, then `slipway run {}`",
        dir.display()
    );
    Ok(EXIT_PASSED)
}
