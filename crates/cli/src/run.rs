//! `slipway run` and `slipway init`: the project's pipeline, run (recorded
//! in the history by the core) and shown as it goes, or written out.

use std::path::PathBuf;

use slipway_core::config;
use slipway_core::event::{Event, Outcome};
use slipway_core::record::RecordedRun;
use slipway_core::{ErrorCode, Problem};

use crate::render;
use crate::{EXIT_BAD_INPUT, EXIT_CANCELLED, EXIT_ENVIRONMENT, EXIT_FAILED, EXIT_PASSED};

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
    let mut run = RecordedRun::start(pipeline, None, true).await?;
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
    while run.next().await {
        let seq = run.seq();
        let received = run.received();
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
