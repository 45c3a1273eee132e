//! A pipeline run: build, run, readiness, tests, cleanup.
//!
//! A run is one task that owns its state and its containers. Callers get a
//! [`RunHandle`] to cancel or await it, and the run's [`Events`].
//! Whatever happens (a failing step, an engine error, cancellation, the
//! handle being dropped), the run ends with its cleanup step and a
//! `RunFinished` event.

mod build;
pub(crate) mod container;
pub(crate) mod emit;
pub(crate) mod lines;
mod readiness;
mod reuse;
mod services;
mod test_step;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

pub use build::{DIRTY_SUFFIX, LABEL_COMMIT};
pub use container::{
    Cleaned, ContainerInfo, LABEL_OWNER, LABEL_PROJECT, LABEL_ROOT, LABEL_RUN, clean, containers,
    orphans, remove_container, remove_networks_of, stop,
};
pub use readiness::{Attempt, ProbeTarget, ReadinessProbe};

use crate::config::{CleanupPolicy, Pipeline, Readiness, TestSpec};
use crate::engine::Engine;
use crate::event::{
    Event, GitInfo, Outcome, PublishedPort, RunEvent, RunId, StepInfo, StepKind, StepStatus,
};
use crate::{ErrorCode, Problem};

/// How many hand-offs (an event, or up to [`LINES_PER_HANDOFF`] lines of
/// one chunk of output) may wait for the consumer before the run slows
/// down: at most 32,768 events in flight, whatever the engine's chunk size.
const EVENT_BUFFER: usize = 64;
/// Most lines in one hand-off; a larger chunk of output takes several.
const LINES_PER_HANDOFF: usize = 512;

/// A run's events, in order.
///
/// Lines that arrive in one chunk of output travel together: a test that
/// prints half a million lines a second costs one hand-off per chunk, not
/// one per line. Dropping this cancels the run.
#[derive(Debug)]
pub struct Events {
    rx: mpsc::Receiver<Vec<RunEvent>>,
    pending: std::vec::IntoIter<RunEvent>,
}

impl Events {
    /// A channel whose receiving end is the events of a run.
    pub(crate) fn channel() -> (mpsc::Sender<Vec<RunEvent>>, Self) {
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        (
            tx,
            Events {
                rx,
                pending: Vec::new().into_iter(),
            },
        )
    }

    /// Events already known, as a stream that ends after them: a recorded
    /// run replayed, or a front end's tests.
    pub fn from_events(events: Vec<RunEvent>) -> Self {
        let (_closed, rx) = mpsc::channel(1);
        Events {
            rx,
            pending: events.into_iter(),
        }
    }

    /// The next event; `None` once the run has ended and all were read.
    /// Cancel-safe.
    pub async fn recv(&mut self) -> Option<RunEvent> {
        loop {
            if let Some(event) = self.pending.next() {
                return Some(event);
            }
            self.pending = self.rx.recv().await?.into_iter();
        }
    }

    /// Waits for events, then moves up to `limit` of those already here
    /// into `out`; returns how many (0 once all were read). Cancel-safe.
    pub async fn recv_many(&mut self, out: &mut Vec<RunEvent>, limit: usize) -> usize {
        let before = out.len();
        loop {
            while out.len() - before < limit {
                match self.pending.next() {
                    Some(event) => out.push(event),
                    None => match self.rx.try_recv() {
                        Ok(batch) => self.pending = batch.into_iter(),
                        Err(_) => break,
                    },
                }
            }
            if out.len() > before {
                return out.len() - before;
            }
            match self.rx.recv().await {
                Some(batch) => self.pending = batch.into_iter(),
                None => return 0,
            }
        }
    }
}

/// A started run.
#[derive(Debug)]
pub struct RunHandle {
    run_id: RunId,
    cancel: CancellationToken,
    task: Option<tokio::task::JoinHandle<Outcome>>,
    /// A workflow's approvals: a job's name, and whether it was approved.
    approvals: Option<mpsc::UnboundedSender<(String, bool)>>,
}

impl RunHandle {
    /// A handle on a run `task` that another part of the core started.
    pub(crate) fn new(
        run_id: RunId,
        cancel: CancellationToken,
        task: tokio::task::JoinHandle<Outcome>,
        approvals: Option<mpsc::UnboundedSender<(String, bool)>>,
    ) -> Self {
        RunHandle {
            run_id,
            cancel,
            task: Some(task),
            approvals,
        }
    }

    /// Answers a workflow's approval job; `false` when the run has ended
    /// (or is not a workflow).
    pub fn approve(&self, job: &str, approved: bool) -> bool {
        self.approvals().is_some_and(|a| a.approve(job, approved))
    }

    /// Where a workflow's approvals are answered, for another task to keep.
    pub fn approvals(&self) -> Option<Approvals> {
        self.approvals.clone().map(Approvals)
    }
}

/// Answers a workflow run's approval jobs.
#[derive(Debug, Clone)]
pub struct Approvals(mpsc::UnboundedSender<(String, bool)>);

impl Approvals {
    /// Approves (or refuses) the approval job `job`; `false` when the run
    /// has ended.
    pub fn approve(&self, job: &str, approved: bool) -> bool {
        self.0.send((job.to_string(), approved)).is_ok()
    }
}

impl RunHandle {
    /// The run's id.
    pub fn run_id(&self) -> &RunId {
        &self.run_id
    }

    /// Asks the run to stop; it still cleans up and reports `RunFinished`.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// A token that cancels the run when fired (for signal handlers).
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Waits for the run to end and returns its outcome.
    pub async fn wait(mut self) -> Outcome {
        match self.task.take() {
            Some(task) => task.await.unwrap_or_else(|e| Outcome::Error {
                step: None,
                problem: Problem::new(
                    ErrorCode::DockerError,
                    format!("the run stopped unexpectedly: {e}"),
                ),
            }),
            None => Outcome::Cancelled,
        }
    }
}

impl Drop for RunHandle {
    fn drop(&mut self) {
        // A run nobody holds is a run nobody wants: stop it (it cleans up).
        if self.task.as_ref().is_some_and(|t| !t.is_finished()) {
            self.cancel.cancel();
        }
    }
}

/// Starts `pipeline` on `engine`. Events arrive on the returned [`Events`];
/// dropping them cancels the run.
pub fn start(engine: Engine, pipeline: Pipeline, git: Option<GitInfo>) -> (RunHandle, Events) {
    let run_id = RunId::new();
    let cancel = CancellationToken::new();
    let (tx, rx) = mpsc::channel(EVENT_BUFFER);
    let runner = Runner {
        plan: plan(&pipeline),
        engine,
        pipeline,
        out: emit::EventSender::new(run_id.clone(), tx, cancel.clone()),
        containers: Vec::new(),
        service: None,
        network: None,
        services: Vec::new(),
        image_id: None,
        commit: None,
        inputs: None,
        lost: Arc::default(),
        background: Vec::new(),
    };
    let task = tokio::spawn(runner.execute(git));
    (
        RunHandle {
            run_id,
            cancel,
            task: Some(task),
            approvals: None,
        },
        Events {
            rx,
            pending: Vec::new().into_iter(),
        },
    )
}

/// One `Log` event per line, all at the same time, in hand-offs of at most
/// [`LINES_PER_HANDOFF`].
pub(crate) fn log_events(
    run_id: &RunId,
    elapsed_ms: u64,
    step: usize,
    stream: crate::event::LogStream,
    lines: Vec<String>,
) -> Vec<Vec<RunEvent>> {
    let mut handoffs = Vec::with_capacity(lines.len().div_ceil(LINES_PER_HANDOFF));
    let mut lines = lines.into_iter().peekable();
    while lines.peek().is_some() {
        handoffs.push(
            lines
                .by_ref()
                .take(LINES_PER_HANDOFF)
                .map(|line| RunEvent {
                    run_id: run_id.clone(),
                    elapsed_ms,
                    event: Event::Log { step, stream, line },
                })
                .collect(),
        );
    }
    handoffs
}

/// What a planned step does, with the part of the pipeline it needs.
#[derive(Debug, Clone, PartialEq)]
pub enum StepSpec {
    /// Build the image.
    Build,
    /// Start the services (at the first) and wait until this one is ready.
    Service(crate::config::ServiceSpec),
    /// Start the service container.
    Run,
    /// Wait until the service answers.
    Ready(Readiness),
    /// Run one test.
    Test(TestSpec),
    /// Remove the run's containers (always last).
    Cleanup,
}

/// One step of a run's plan: what it is called and what it does.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedStep {
    /// The name shown in the timeline.
    pub name: String,
    /// What it does.
    pub spec: StepSpec,
}

impl PlannedStep {
    /// The kind of step, as events report it.
    pub fn kind(&self) -> StepKind {
        match self.spec {
            StepSpec::Build => StepKind::Build,
            StepSpec::Run | StepSpec::Service(_) => StepKind::Run,
            StepSpec::Ready(_) => StepKind::Ready,
            StepSpec::Test(_) => StepKind::Test,
            StepSpec::Cleanup => StepKind::Cleanup,
        }
    }

    /// The step as events and front ends see it.
    pub fn info(&self) -> StepInfo {
        StepInfo {
            name: self.name.clone(),
            kind: self.kind(),
            job: None,
        }
    }
}

/// The steps a pipeline goes through, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    steps: Vec<PlannedStep>,
}

impl Plan {
    /// The steps, in order.
    pub fn steps(&self) -> &[PlannedStep] {
        &self.steps
    }

    /// The steps as events and front ends see them.
    pub fn infos(&self) -> Vec<StepInfo> {
        self.steps.iter().map(PlannedStep::info).collect()
    }

    /// The index of the first step of `kind`.
    pub fn position(&self, kind: StepKind) -> Option<usize> {
        self.steps.iter().position(|s| s.kind() == kind)
    }

    /// The index of the step of `kind` called `name`.
    pub fn position_named(&self, kind: StepKind, name: &str) -> Option<usize> {
        self.steps
            .iter()
            .position(|s| s.kind() == kind && s.name == name)
    }
}

/// The steps a pipeline will go through.
pub fn plan(pipeline: &Pipeline) -> Plan {
    let step = |name: String, spec| PlannedStep { name, spec };
    let mut steps = vec![step(format!("build {}", pipeline.image), StepSpec::Build)];
    for service in &pipeline.services {
        steps.push(step(
            format!("service {}", service.name),
            StepSpec::Service(service.clone()),
        ));
    }
    steps.push(step("run".into(), StepSpec::Run));
    if let Some(ready) = &pipeline.ready {
        steps.push(step("ready".into(), StepSpec::Ready(ready.clone())));
    }
    for test in &pipeline.tests {
        steps.push(step(test.name.clone(), StepSpec::Test(test.clone())));
    }
    steps.push(step("cleanup".into(), StepSpec::Cleanup));
    Plan { steps }
}

/// How a step ended, before it becomes events.
#[derive(Debug)]
pub(crate) enum StepEnd {
    Passed {
        exit_code: Option<i64>,
    },
    Failed {
        message: String,
        exit_code: Option<i64>,
    },
    Error(Problem),
    Cancelled,
}

/// The running service container.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub(crate) id: String,
    pub(crate) ports: Vec<PublishedPort>,
    /// The container's exit code once it has exited.
    pub(crate) exited: watch::Receiver<Option<i64>>,
}

/// How often a run checks that the engine still answers.
const WATCH_EVERY: Duration = Duration::from_secs(2);
/// How long the engine may take to answer that check.
const WATCH_WAIT: Duration = Duration::from_secs(5);

/// Pings the engine while the run goes; when it stops answering, says why
/// in `lost` and cancels the run, so nothing waits on a dead engine.
async fn watch_engine(
    engine: Engine,
    cancel: CancellationToken,
    lost: Arc<std::sync::Mutex<Option<String>>>,
) {
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        let reason = match tokio::time::timeout(WATCH_WAIT, engine.docker().ping()).await {
            Ok(Ok(_)) => continue,
            Ok(Err(e)) => crate::error::root_cause(&e),
            Err(_) => format!("no answer within {} s", WATCH_WAIT.as_secs()),
        };
        tracing::warn!("the engine stopped answering: {reason}");
        if let Ok(mut lost) = lost.lock() {
            *lost = Some(reason);
        }
        cancel.cancel();
        return;
    }
}

pub(crate) struct Runner {
    engine: Engine,
    pipeline: Pipeline,
    /// Where its events go.
    out: emit::EventSender,
    plan: Plan,
    /// Every container this run created, removed at cleanup.
    containers: Vec<String>,
    service: Option<Service>,
    /// The run's own network, once its services are started.
    network: Option<String>,
    /// Its services' containers.
    services: Vec<services::RunningService>,
    image_id: Option<String>,
    /// The commit the image is built from, as its [`LABEL_COMMIT`] says it.
    commit: Option<String>,
    /// The digest of the build's inputs, as its image's label keeps it.
    inputs: Option<String>,
    /// Why the engine stopped answering, once the watchdog saw it.
    lost: Arc<std::sync::Mutex<Option<String>>>,
    /// Log follower and exit watcher, stopped at cleanup.
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("run_id", &self.out.run_id)
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// Sends an event. When nobody listens any more, the run is cancelled.
    async fn emit(&self, event: Event) {
        self.out.emit(event).await;
    }

    async fn log(&self, step: usize, stream: crate::event::LogStream, line: String) {
        self.out.lines(step, stream, vec![line]).await;
    }

    /// Sends lines that arrived together, stamped with one time.
    async fn log_lines(&self, step: usize, stream: crate::event::LogStream, lines: Vec<String>) {
        self.out.lines(step, stream, lines).await;
    }

    async fn execute(mut self, git: Option<GitInfo>) -> Outcome {
        self.commit = git.as_ref().map(build::commit_label);
        let started_at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        self.emit(Event::RunStarted {
            project: self.pipeline.project.clone(),
            root: self.pipeline.root.clone(),
            image: self.pipeline.image.to_string(),
            git,
            engine: self.engine.endpoint().to_string(),
            steps: self.plan.infos(),
            started_at_ms,
            workflow: None,
        })
        .await;

        let mut outcome: Option<Outcome> = None;
        let watchdog = tokio::spawn(watch_engine(
            self.engine.clone(),
            self.out.cancel.clone(),
            self.lost.clone(),
        ));
        let cleanup_index = self
            .plan
            .position(StepKind::Cleanup)
            .unwrap_or(self.plan.steps.len());
        for index in 0..cleanup_index {
            if outcome.is_some() {
                self.finish_step(index, StepStatus::Skipped, 0, None, None)
                    .await;
                continue;
            }
            self.emit(Event::StepStarted { step: index }).await;
            let began = Instant::now();
            let cancel = self.out.cancel.clone();
            let end = tokio::select! {
                biased;
                _ = cancel.cancelled() => StepEnd::Cancelled,
                end = self.step(index) => end,
            };
            let ms = began.elapsed().as_millis() as u64;
            let name = self.plan.steps[index].name.clone();
            // Cancelled by the watchdog: the engine went away.
            let end = match (end, self.engine_lost()) {
                (StepEnd::Cancelled, Some(reason)) => StepEnd::Error(
                    Problem::new(
                        ErrorCode::DockerUnavailable,
                        format!(
                            "the Docker engine at {} stopped answering during {name} ({reason})",
                            self.engine.endpoint().host
                        ),
                    )
                    .with_hint("Check that Docker is running (`docker info`); the next run removes what this one left."),
                ),
                (end, _) => end,
            };
            outcome = match end {
                StepEnd::Passed { exit_code } => {
                    self.finish_step(index, StepStatus::Passed, ms, exit_code, None)
                        .await;
                    None
                }
                StepEnd::Failed { message, exit_code } => {
                    self.finish_step(
                        index,
                        StepStatus::Failed,
                        ms,
                        exit_code,
                        Some(message.clone()),
                    )
                    .await;
                    Some(Outcome::Failed {
                        step: index,
                        step_name: name,
                        message,
                    })
                }
                StepEnd::Error(problem) => {
                    self.finish_step(
                        index,
                        StepStatus::Failed,
                        ms,
                        None,
                        Some(problem.message.clone()),
                    )
                    .await;
                    Some(Outcome::Error {
                        step: Some(index),
                        problem,
                    })
                }
                StepEnd::Cancelled => {
                    self.finish_step(
                        index,
                        StepStatus::Cancelled,
                        ms,
                        None,
                        Some("cancelled".into()),
                    )
                    .await;
                    Some(Outcome::Cancelled)
                }
            };
        }
        let outcome = outcome.unwrap_or(Outcome::Passed);
        watchdog.abort();
        // A test verdict first: removing what produced it need not delay it.
        // A cancelled or broken run is told once it has cleaned up.
        if matches!(outcome, Outcome::Passed | Outcome::Failed { .. }) {
            self.emit(Event::Verdict {
                outcome: outcome.clone(),
                duration_ms: self.out.elapsed_ms(),
            })
            .await;
        }

        self.emit(Event::StepStarted {
            step: cleanup_index,
        })
        .await;
        let began = Instant::now();
        let (status, message) = self.cleanup(&outcome).await;
        self.finish_step(
            cleanup_index,
            status,
            began.elapsed().as_millis() as u64,
            None,
            message,
        )
        .await;

        self.emit(Event::RunFinished {
            outcome: outcome.clone(),
            duration_ms: self.out.elapsed_ms(),
            image_id: self.image_id.clone(),
        })
        .await;
        outcome
    }

    /// Why the engine stopped answering, if it did.
    fn engine_lost(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|l| l.clone())
    }

    async fn finish_step(
        &self,
        step: usize,
        status: StepStatus,
        duration_ms: u64,
        exit_code: Option<i64>,
        message: Option<String>,
    ) {
        self.emit(Event::StepFinished {
            step,
            status,
            duration_ms,
            exit_code,
            message,
        })
        .await;
    }

    async fn step(&mut self, index: usize) -> StepEnd {
        match self.plan.steps[index].spec.clone() {
            StepSpec::Build => build::run(self, index).await,
            StepSpec::Service(spec) => services::run(self, &spec).await,
            StepSpec::Run => container::start(self, index).await,
            StepSpec::Ready(ready) => readiness::run(self, index, &ready).await,
            StepSpec::Test(spec) => test_step::run(self, index, &spec).await,
            StepSpec::Cleanup => StepEnd::Passed { exit_code: None },
        }
    }

    /// Removes the run's containers as the policy says. Never cancelled.
    async fn cleanup(&mut self, outcome: &Outcome) -> (StepStatus, Option<String>) {
        for task in self.background.drain(..) {
            task.abort();
        }
        let keep = match self.pipeline.cleanup {
            CleanupPolicy::Always => false,
            CleanupPolicy::OnSuccess => matches!(outcome, Outcome::Failed { .. }),
            CleanupPolicy::Never => true,
        };
        if self.containers.is_empty() && self.network.is_none() {
            return (StepStatus::Skipped, Some("no container to remove".into()));
        }
        if self.engine_lost().is_some() {
            return (
                StepStatus::Failed,
                Some("the engine stopped answering: its containers are left, and the next run removes them".into()),
            );
        }
        if keep {
            let names = self
                .containers
                .iter()
                .map(|c| &c[..c.len().min(12)])
                .collect::<Vec<_>>()
                .join(", ");
            return (
                StepStatus::Skipped,
                Some(format!(
                    "kept container {names} (cleanup = {:?}); `slipway clean` removes it",
                    self.pipeline.cleanup
                )),
            );
        }
        // Together: the service and the app go at once, then their network.
        let containers = std::mem::take(&mut self.containers);
        let mut failures = container::remove_all(&self.engine, &containers).await;
        if let Some(network) = self.network.take()
            && let Err(e) = engine_call(
                "remove network",
                self.engine.docker().remove_network(&network),
            )
            .await
        {
            tracing::warn!(network = %network, error = %e, "could not remove network");
            failures.push(format!("network {network}: {e}"));
        }
        container::cleanup_end(&failures)
    }
}

/// An engine call, with its start and end in the debug log
/// (`SLIPWAY_LOG=debug`), so what waits in series and what overlaps shows.
pub(crate) async fn engine_call<T>(what: &str, call: impl std::future::Future<Output = T>) -> T {
    let began = Instant::now();
    tracing::debug!(call = what, "engine call started");
    let out = call.await;
    tracing::debug!(
        call = what,
        ms = began.elapsed().as_secs_f64() * 1000.0,
        "engine call ended"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::LogStream;

    fn channel() -> (mpsc::Sender<Vec<RunEvent>>, Events) {
        let (tx, rx) = mpsc::channel(8);
        let events = Events {
            rx,
            pending: Vec::new().into_iter(),
        };
        (tx, events)
    }

    fn line(run_id: &RunId, n: usize) -> Vec<RunEvent> {
        log_events(run_id, 0, 1, LogStream::Stdout, vec![n.to_string()]).concat()
    }

    fn text(event: &RunEvent) -> &str {
        match &event.event {
            Event::Log { line, .. } => line,
            other => panic!("expected a log line, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn events_come_out_one_at_a_time_in_order_across_batches() {
        let (tx, mut events) = channel();
        let id = RunId::new();
        let lines: Vec<String> = (0..5).map(|n| n.to_string()).collect();
        tx.send(log_events(&id, 3, 2, LogStream::Stderr, lines).concat())
            .await
            .unwrap();
        tx.send(line(&id, 5)).await.unwrap();
        drop(tx);
        let mut seen = Vec::new();
        while let Some(event) = events.recv().await {
            seen.push(text(&event).to_string());
        }
        assert_eq!(seen, ["0", "1", "2", "3", "4", "5"]);
    }

    #[test]
    fn a_large_chunk_of_output_takes_several_bounded_handoffs() {
        let id = RunId::new();
        let lines: Vec<String> = (0..LINES_PER_HANDOFF * 2 + 1)
            .map(|n| n.to_string())
            .collect();
        let handoffs = log_events(&id, 0, 1, LogStream::Stdout, lines);
        let sizes: Vec<usize> = handoffs.iter().map(Vec::len).collect();
        assert_eq!(sizes, [LINES_PER_HANDOFF, LINES_PER_HANDOFF, 1]);
        let last = handoffs.concat();
        assert_eq!(
            text(&last[LINES_PER_HANDOFF * 2]),
            (LINES_PER_HANDOFF * 2).to_string()
        );
        assert!(log_events(&id, 0, 1, LogStream::Stdout, Vec::new()).is_empty());
    }

    #[tokio::test]
    async fn recv_many_takes_what_is_there_up_to_the_limit() {
        let (tx, mut events) = channel();
        let id = RunId::new();
        for n in 0..3 {
            tx.send(line(&id, n)).await.unwrap();
        }
        let lines: Vec<String> = (3..7).map(|n| n.to_string()).collect();
        tx.send(log_events(&id, 0, 1, LogStream::Stdout, lines).concat())
            .await
            .unwrap();
        let mut out = Vec::new();
        assert_eq!(events.recv_many(&mut out, 5).await, 5);
        assert_eq!(events.recv_many(&mut out, 5).await, 2);
        assert_eq!(
            out.iter().map(text).collect::<Vec<_>>(),
            ["0", "1", "2", "3", "4", "5", "6"]
        );
        // Nothing waiting: it waits for the next hand-off.
        let waiter = tokio::spawn(async move {
            let mut out = Vec::new();
            let n = events.recv_many(&mut out, 5).await;
            (n, out.first().map(|e| text(e).to_string()), events)
        });
        tx.send(line(&id, 7)).await.unwrap();
        let (n, first, mut events) = waiter.await.unwrap();
        assert_eq!((n, first.as_deref()), (1, Some("7")));
        drop(tx);
        assert_eq!(events.recv_many(&mut Vec::new(), 5).await, 0);
    }
}
