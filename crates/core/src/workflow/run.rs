//! A workflow run: its jobs in order of `requires`, independent ones side
//! by side, each in its primary image with its secondary images sharing
//! the primary's network (or on the host, for a machine job). It reports
//! the same events as a pipeline run, each step carrying its job, and
//! removes every container it made, whatever happens.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::CreateContainerOptions;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::caches::CacheStore;
use super::config::{Executor, Image, Job, JobKind, Step, When, WorkflowPlan};
use super::files::{self, Place};
use crate::engine::Engine;
use crate::event::{
    Event, GitInfo, JobInfo, LogStream, Outcome, RunId, StepInfo, StepKind, StepStatus,
    WorkflowInfo,
};
use crate::pipeline::emit::EventSender;
use crate::pipeline::lines::{OutputEnd, Tail, next_line, read_output};
use crate::pipeline::{Events, LABEL_OWNER, LABEL_PROJECT, LABEL_ROOT, LABEL_RUN, RunHandle};
use crate::{ErrorCode, Problem};

/// Output lines kept for a failure message.
const FAILURE_LINES: usize = 30;

/// Everything a workflow run needs besides the engine.
#[derive(Debug, Clone)]
pub struct WorkflowRun {
    /// The project's name.
    pub project: String,
    /// Its folder.
    pub root: std::path::PathBuf,
    /// What to run.
    pub plan: WorkflowPlan,
    /// The values CircleCI's variables take.
    pub values: super::config::PipelineValues,
    /// Each context's variables, read from the keychain before the run.
    pub contexts: BTreeMap<String, Vec<(String, String)>>,
    /// Where caches are kept; `None` leaves caching out.
    pub caches: Option<CacheStore>,
    /// Where artifacts are kept (the run's own folder is made under it).
    pub artifacts: Option<std::path::PathBuf>,
    /// How many jobs may run at once.
    pub parallel: usize,
}

/// The steps a run of `plan` goes through, as front ends see them.
pub fn plan_steps(plan: &WorkflowPlan) -> Vec<StepInfo> {
    layout(plan).0
}

/// The workflow's jobs and what each requires, as front ends draw them.
pub fn plan_info(plan: &WorkflowPlan) -> WorkflowInfo {
    WorkflowInfo {
        name: plan.name.clone(),
        jobs: plan
            .jobs
            .iter()
            .map(|j| JobInfo {
                name: j.name.clone(),
                requires: j.requires.clone(),
                approval: matches!(j.kind, JobKind::Approval),
            })
            .collect(),
    }
}

/// The run's steps as front ends see them, and where each job's are.
fn layout(plan: &WorkflowPlan) -> (Vec<StepInfo>, Vec<Slots>) {
    let mut infos = Vec::new();
    let mut slots = Vec::new();
    let push = |infos: &mut Vec<StepInfo>, job: &str, name: String, kind| {
        infos.push(StepInfo {
            name,
            kind,
            job: Some(job.to_string()),
        });
        infos.len() - 1
    };
    for job in &plan.jobs {
        let mut slot = Slots::default();
        match &job.kind {
            JobKind::Run(run) => {
                slot.spin_up = Some(push(
                    &mut infos,
                    &job.name,
                    "Spin up environment".into(),
                    StepKind::Run,
                ));
                if let Executor::Docker(images) = &run.executor {
                    for image in images.iter().skip(1) {
                        slot.services.push(push(
                            &mut infos,
                            &job.name,
                            format!("service {}", service_name(image)),
                            StepKind::Run,
                        ));
                    }
                }
                for step in &run.steps {
                    slot.steps
                        .push(push(&mut infos, &job.name, step.title(), StepKind::Test));
                }
            }
            JobKind::Approval => {
                slot.approval = Some(push(
                    &mut infos,
                    &job.name,
                    format!("approve {}", job.name),
                    StepKind::Approval,
                ));
            }
            JobKind::Filtered(_) => {}
        }
        slots.push(slot);
    }
    infos.push(StepInfo {
        name: "cleanup".into(),
        kind: StepKind::Cleanup,
        job: None,
    });
    (infos, slots)
}

/// A secondary image's host name: its `name`, else the image's last part.
fn service_name(image: &Image) -> String {
    image.name.clone().unwrap_or_else(|| {
        let base = image.image.rsplit('/').next().unwrap_or(&image.image);
        base.split([':', '@']).next().unwrap_or(base).to_string()
    })
}

/// Where one job's steps are in the run's plan.
#[derive(Debug, Clone, Default)]
struct Slots {
    spin_up: Option<usize>,
    services: Vec<usize>,
    steps: Vec<usize>,
    approval: Option<usize>,
}

/// Starts `run` on `engine`; its events arrive on the returned [`Events`].
pub fn start(engine: Engine, run: WorkflowRun, git: Option<GitInfo>) -> (RunHandle, Events) {
    let run_id = RunId::new();
    let cancel = CancellationToken::new();
    let (tx, events) = Events::channel();
    let (approvals_tx, approvals) = mpsc::unbounded_channel();
    let masks = run
        .contexts
        .values()
        .flatten()
        .map(|(_, v)| v.clone())
        .filter(|v| v.len() >= 4)
        .collect();
    let emitter = Emitter {
        out: EventSender::new(run_id.clone(), tx, cancel.clone()),
        masks: Arc::new(masks),
    };
    let task = tokio::spawn(execute(engine, run, git, emitter, approvals));
    (
        RunHandle::new(run_id, cancel, task, Some(approvals_tx)),
        events,
    )
}

/// Sends a run's events.
#[derive(Debug, Clone)]
struct Emitter {
    out: EventSender,
    /// Contexts' values, hidden in what the run reports as CircleCI hides them.
    masks: Arc<Vec<String>>,
}

impl Emitter {
    fn mask(&self, text: String) -> String {
        if !self.masks.iter().any(|m| text.contains(m.as_str())) {
            return text;
        }
        self.masks
            .iter()
            .fold(text, |t, m| t.replace(m.as_str(), "********"))
    }

    async fn emit(&self, event: Event) {
        self.out.emit(event).await;
    }

    async fn lines(&self, step: usize, stream: LogStream, lines: Vec<String>) {
        let lines = lines.into_iter().map(|l| self.mask(l)).collect();
        self.out.lines(step, stream, lines).await;
    }

    async fn line(&self, step: usize, line: impl Into<String>) {
        self.lines(step, LogStream::Stdout, vec![line.into()]).await;
    }

    async fn finish(
        &self,
        step: usize,
        status: StepStatus,
        ms: u64,
        code: Option<i64>,
        message: Option<String>,
    ) {
        let message = message.map(|m| self.mask(m));
        self.emit(Event::StepFinished {
            step,
            status,
            duration_ms: ms,
            exit_code: code,
            message,
        })
        .await;
    }
}

/// How a job ended.
#[derive(Debug, Clone)]
enum JobEnd {
    Passed,
    /// A step failed: its index, its name and why.
    Failed(usize, String, String),
    /// The environment stopped it.
    Error(Option<usize>, Problem),
    Cancelled,
    Skipped(String),
}

/// What jobs share.
#[derive(Debug)]
struct Shared {
    engine: Engine,
    run: WorkflowRun,
    git: Option<GitInfo>,
    emitter: Emitter,
    /// Every container made, removed at cleanup.
    containers: Mutex<Vec<String>>,
    /// The workspace's layers: each a tar of paths relative to its root.
    workspace: Mutex<Vec<Vec<u8>>>,
    /// Each job's number (`CIRCLE_BUILD_NUM`).
    numbers: Mutex<u64>,
    labels: HashMap<String, String>,
    /// Host folders of machine jobs, removed at cleanup.
    host_dirs: Mutex<Vec<tempfile::TempDir>>,
}

async fn execute(
    engine: Engine,
    run: WorkflowRun,
    git: Option<GitInfo>,
    emitter: Emitter,
    mut approvals: mpsc::UnboundedReceiver<(String, bool)>,
) -> Outcome {
    let (infos, slots) = layout(&run.plan);
    let started_at_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    emitter
        .emit(Event::RunStarted {
            project: run.project.clone(),
            root: run.root.clone(),
            image: format!("workflow {}", run.plan.name),
            git: git.clone(),
            engine: engine.endpoint().to_string(),
            steps: infos.clone(),
            started_at_ms,
            workflow: Some(Box::new(plan_info(&run.plan))),
        })
        .await;
    let labels = HashMap::from([
        (LABEL_RUN.to_string(), emitter.out.run_id.to_string()),
        (LABEL_PROJECT.to_string(), run.project.clone()),
        (LABEL_ROOT.to_string(), run.root.display().to_string()),
        (LABEL_OWNER.to_string(), crate::owner::current()),
    ]);
    let parallel = run.parallel.max(1);
    let shared = Arc::new(Shared {
        engine,
        run,
        git,
        emitter: emitter.clone(),
        containers: Mutex::new(Vec::new()),
        workspace: Mutex::new(Vec::new()),
        numbers: Mutex::new(0),
        labels,
        host_dirs: Mutex::new(Vec::new()),
    });
    let jobs = shared.run.plan.jobs.clone();
    let mut states: Vec<State> = vec![State::Pending; jobs.len()];
    let mut running = tokio::task::JoinSet::new();
    let mut first_failure: Option<Outcome> = None;
    loop {
        // Jobs that cannot run: not on this branch, or after one that did not pass.
        for i in 0..jobs.len() {
            if !matches!(states[i], State::Pending) {
                continue;
            }
            let why = match &jobs[i].kind {
                JobKind::Filtered(why) => Some(why.clone()),
                _ => jobs[i].requires.iter().find_map(|r| {
                    let j = jobs.iter().position(|j| &j.name == r)?;
                    match &states[j] {
                        State::Done(JobEnd::Passed) => None,
                        State::Done(_) => Some(format!("{r} did not pass")),
                        _ => None,
                    }
                }),
            };
            if let Some(why) = why {
                skip_steps(&emitter, &slots[i], &why).await;
                let end = JobEnd::Skipped(why);
                emit_job_end(&emitter, &jobs[i].name, &end, 0).await;
                states[i] = State::Done(end);
            }
        }
        let cancelled = emitter.out.cancel.is_cancelled();
        if !cancelled {
            for i in 0..jobs.len() {
                let ready = matches!(states[i], State::Pending)
                    && jobs[i].requires.iter().all(|r| {
                        jobs.iter()
                            .position(|j| &j.name == r)
                            .is_some_and(|j| matches!(states[j], State::Done(JobEnd::Passed)))
                    });
                if !ready {
                    continue;
                }
                match &jobs[i].kind {
                    JobKind::Approval => {
                        let step = slots[i].approval.unwrap_or(0);
                        let job = jobs[i].name.clone();
                        emitter.emit(Event::JobStarted { job: job.clone() }).await;
                        emitter.emit(Event::StepStarted { step }).await;
                        emitter.emit(Event::ApprovalWaiting { job, step }).await;
                        states[i] = State::Waiting;
                    }
                    JobKind::Run(job) if running.len() < parallel => {
                        let shared = shared.clone();
                        let job = (**job).clone();
                        let name = jobs[i].name.clone();
                        let context = jobs[i].context.clone();
                        let slot = slots[i].clone();
                        states[i] = State::Running;
                        running.spawn(async move {
                            let began = Instant::now();
                            shared
                                .emitter
                                .emit(Event::JobStarted { job: name.clone() })
                                .await;
                            let end = run_job(&shared, &name, &job, &context, &slot).await;
                            let ms = began.elapsed().as_millis() as u64;
                            emit_job_end(&shared.emitter, &name, &end, ms).await;
                            (i, end)
                        });
                    }
                    _ => {}
                }
            }
        }
        let waiting = states.iter().any(|s| matches!(s, State::Waiting));
        if running.is_empty() && (cancelled || !waiting) {
            break;
        }
        tokio::select! {
            biased;
            _ = emitter.out.cancel.cancelled(), if !cancelled => {}
            answer = approvals.recv(), if waiting && !cancelled => {
                let Some((job, approved)) = answer else { continue };
                let Some(i) = (0..jobs.len()).find(|&k| jobs[k].name == job && matches!(states[k], State::Waiting)) else {
                    continue;
                };
                let step = slots[i].approval.unwrap_or(0);
                let end = if approved {
                    emitter.line(step, "approved").await;
                    emitter.finish(step, StepStatus::Passed, 0, None, None).await;
                    JobEnd::Passed
                } else {
                    let why = format!("{job} was not approved: the jobs after it do not run");
                    emitter.finish(step, StepStatus::Failed, 0, None, Some(why.clone())).await;
                    JobEnd::Failed(step, format!("approve {job}"), why)
                };
                emit_job_end(&emitter, &job, &end, 0).await;
                states[i] = State::Done(end);
            }
            done = running.join_next(), if !running.is_empty() => {
                match done {
                    Some(Ok((i, end))) => states[i] = State::Done(end),
                    Some(Err(e)) => tracing::warn!(error = %e, "a job's task ended unexpectedly"),
                    None => {}
                }
            }
        }
        if first_failure.is_none() {
            first_failure = states.iter().find_map(|s| match s {
                State::Done(JobEnd::Failed(step, name, message)) => Some(Outcome::Failed {
                    step: *step,
                    step_name: name.clone(),
                    message: message.clone(),
                }),
                State::Done(JobEnd::Error(step, problem)) => Some(Outcome::Error {
                    step: *step,
                    problem: problem.clone(),
                }),
                _ => None,
            });
        }
    }
    // What never ran or still waited: cancelled.
    for (i, job) in jobs.iter().enumerate() {
        match states[i] {
            State::Pending | State::Running => {
                skip_steps(&emitter, &slots[i], "cancelled").await;
                emit_job_end(&emitter, &job.name, &JobEnd::Cancelled, 0).await;
            }
            State::Waiting => {
                let step = slots[i].approval.unwrap_or(0);
                emitter
                    .finish(
                        step,
                        StepStatus::Cancelled,
                        0,
                        None,
                        Some("cancelled".into()),
                    )
                    .await;
                emit_job_end(&emitter, &job.name, &JobEnd::Cancelled, 0).await;
            }
            State::Done(_) => {}
        }
    }
    let outcome = if emitter.out.cancel.is_cancelled() {
        Outcome::Cancelled
    } else {
        first_failure.unwrap_or(Outcome::Passed)
    };
    if matches!(outcome, Outcome::Passed | Outcome::Failed { .. }) {
        emitter
            .emit(Event::Verdict {
                outcome: outcome.clone(),
                duration_ms: emitter.out.elapsed_ms(),
            })
            .await;
    }
    let cleanup = infos.len() - 1;
    emitter.emit(Event::StepStarted { step: cleanup }).await;
    let began = Instant::now();
    let (status, message) = cleanup_all(&shared).await;
    emitter
        .finish(
            cleanup,
            status,
            began.elapsed().as_millis() as u64,
            None,
            message,
        )
        .await;
    emitter
        .emit(Event::RunFinished {
            outcome: outcome.clone(),
            duration_ms: emitter.out.elapsed_ms(),
            image_id: None,
        })
        .await;
    outcome
}

/// Where a job is.
#[derive(Debug, Clone)]
enum State {
    Pending,
    Running,
    /// An approval job waiting for its answer.
    Waiting,
    Done(JobEnd),
}

async fn emit_job_end(emitter: &Emitter, job: &str, end: &JobEnd, ms: u64) {
    let (status, message) = match end {
        JobEnd::Passed => (StepStatus::Passed, None),
        JobEnd::Failed(_, _, m) => (StepStatus::Failed, Some(m.clone())),
        JobEnd::Error(_, p) => (StepStatus::Failed, Some(p.message.clone())),
        JobEnd::Cancelled => (StepStatus::Cancelled, Some("cancelled".into())),
        JobEnd::Skipped(why) => (StepStatus::Skipped, Some(why.clone())),
    };
    emitter
        .emit(Event::JobFinished {
            job: job.to_string(),
            status,
            duration_ms: ms,
            message,
        })
        .await;
}

async fn skip_steps(emitter: &Emitter, slots: &Slots, why: &str) {
    let all = slots
        .spin_up
        .iter()
        .chain(&slots.services)
        .chain(&slots.steps)
        .chain(&slots.approval);
    for &step in all {
        emitter
            .finish(step, StepStatus::Skipped, 0, None, Some(why.to_string()))
            .await;
    }
}

async fn cleanup_all(shared: &Shared) -> (StepStatus, Option<String>) {
    shared.host_dirs.lock().map(|mut d| d.clear()).ok();
    let containers = shared
        .containers
        .lock()
        .map(|mut c| std::mem::take(&mut *c))
        .unwrap_or_default();
    if containers.is_empty() {
        return (StepStatus::Skipped, Some("no container to remove".into()));
    }
    let failures = crate::pipeline::container::remove_all(&shared.engine, &containers).await;
    crate::pipeline::container::cleanup_end(&failures)
}

/// A running job: where its steps run and what they share.
struct JobPlace {
    place: Place,
    /// The job's containers, primary first.
    containers: Vec<String>,
    home: String,
    dir: String,
    shell: Vec<String>,
    env: Vec<(String, String)>,
    /// Background steps' output followers, stopped when the job ends.
    background: Vec<tokio::task::JoinHandle<()>>,
}

async fn run_job(
    shared: &Shared,
    name: &str,
    job: &Job,
    context: &[String],
    slots: &Slots,
) -> JobEnd {
    let emitter = &shared.emitter;
    let spin_up = slots.spin_up.unwrap_or(0);
    emitter.emit(Event::StepStarted { step: spin_up }).await;
    let began = Instant::now();
    let cancel = emitter.out.cancel.clone();
    // The service steps already told, so a failure skips only the others.
    let mut told = Vec::new();
    let prepared = tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(JobEnd::Cancelled),
        p = prepare(shared, name, job, context, slots, &mut told) => p,
    };
    let ms = began.elapsed().as_millis() as u64;
    let mut place = match prepared {
        Ok(place) => {
            emitter
                .finish(spin_up, StepStatus::Passed, ms, None, None)
                .await;
            place
        }
        Err(end) => {
            let (status, message) = match &end {
                JobEnd::Error(_, p) => (StepStatus::Failed, Some(p.message.clone())),
                JobEnd::Failed(_, _, m) => (StepStatus::Failed, Some(m.clone())),
                _ => (StepStatus::Cancelled, Some("cancelled".into())),
            };
            emitter.finish(spin_up, status, ms, None, message).await;
            let rest = Slots {
                steps: slots.steps.clone(),
                services: slots
                    .services
                    .iter()
                    .copied()
                    .filter(|s| !told.contains(s))
                    .collect(),
                ..Slots::default()
            };
            skip_steps(emitter, &rest, "the environment did not start").await;
            return match end {
                JobEnd::Error(None, p) => JobEnd::Error(Some(spin_up), p),
                other => other,
            };
        }
    };
    let mut end = JobEnd::Passed;
    for (step, &index) in job.steps.iter().zip(&slots.steps) {
        let failed = !matches!(end, JobEnd::Passed);
        let runs = match step.when() {
            When::Always => !matches!(end, JobEnd::Cancelled),
            When::OnSuccess => !failed,
            When::OnFail => matches!(end, JobEnd::Failed(..)),
        };
        if !runs || emitter.out.cancel.is_cancelled() {
            let why = if emitter.out.cancel.is_cancelled() {
                "cancelled"
            } else if failed {
                "an earlier step failed"
            } else {
                "only when a step fails"
            };
            emitter
                .finish(index, StepStatus::Skipped, 0, None, Some(why.into()))
                .await;
            continue;
        }
        emitter.emit(Event::StepStarted { step: index }).await;
        let began = Instant::now();
        let result = tokio::select! {
            biased;
            _ = cancel.cancelled() => Err(StepFail::Cancelled),
            r = run_step(shared, name, job, step, index, &mut place) => r,
        };
        let ms = began.elapsed().as_millis() as u64;
        match result {
            Ok(code) => {
                emitter
                    .finish(index, StepStatus::Passed, ms, code, None)
                    .await
            }
            Err(StepFail::Failed(message, code)) => {
                emitter
                    .finish(index, StepStatus::Failed, ms, code, Some(message.clone()))
                    .await;
                if matches!(end, JobEnd::Passed) {
                    end = JobEnd::Failed(index, format!("{name}: {}", step.title()), message);
                }
            }
            Err(StepFail::Error(problem)) => {
                emitter
                    .finish(
                        index,
                        StepStatus::Failed,
                        ms,
                        None,
                        Some(problem.message.clone()),
                    )
                    .await;
                if matches!(end, JobEnd::Passed) {
                    end = JobEnd::Error(Some(index), problem);
                }
            }
            Err(StepFail::Cancelled) => {
                emitter
                    .finish(
                        index,
                        StepStatus::Cancelled,
                        ms,
                        None,
                        Some("cancelled".into()),
                    )
                    .await;
                end = JobEnd::Cancelled;
            }
        }
    }
    // The job's containers go now: the jobs after it need not wait for cleanup.
    let ours = std::mem::take(&mut place.containers);
    let removals = ours
        .iter()
        .map(|id| crate::pipeline::container::remove(&shared.engine, id));
    let results = futures_util::future::join_all(removals).await;
    if let Ok(mut all) = shared.containers.lock() {
        for (id, result) in ours.iter().zip(results) {
            if result.is_ok() {
                all.retain(|c| c != id);
            }
        }
    }
    // Their output followers end with them, once they have read it all
    // (a service's last lines included); what is still going is stopped.
    let followers = futures_util::future::join_all(place.background.iter_mut());
    if tokio::time::timeout(FOLLOWERS_GRACE, followers)
        .await
        .is_err()
    {
        for task in &place.background {
            task.abort();
        }
    }
    end
}

/// How long a job's output followers may take to finish once its
/// containers are gone.
const FOLLOWERS_GRACE: Duration = Duration::from_secs(2);

enum StepFail {
    Failed(String, Option<i64>),
    Error(Problem),
    Cancelled,
}

/// CircleCI's own variables, the contexts', the job's: every step's.
fn job_env(
    shared: &Shared,
    name: &str,
    job: &Job,
    context: &[String],
    dir: &str,
    number: u64,
) -> Vec<(String, String)> {
    let git = shared.git.as_ref();
    let values = &shared.run.values;
    let mut env: Vec<(String, String)> = vec![
        ("CI".into(), "true".into()),
        ("CIRCLECI".into(), "true".into()),
        (
            "CIRCLE_BRANCH".into(),
            values.branch.clone().unwrap_or_default(),
        ),
        (
            "CIRCLE_SHA1".into(),
            git.map(|g| g.commit.clone()).unwrap_or_default(),
        ),
        ("CIRCLE_JOB".into(), name.to_string()),
        (
            "CIRCLE_WORKFLOW_ID".into(),
            shared.emitter.out.run_id.to_string(),
        ),
        (
            "CIRCLE_WORKFLOW_JOB_ID".into(),
            format!("{}-{number}", shared.emitter.out.run_id.short()),
        ),
        ("CIRCLE_BUILD_NUM".into(), number.to_string()),
        ("CIRCLE_WORKING_DIRECTORY".into(), dir.to_string()),
        ("CIRCLE_PROJECT_REPONAME".into(), shared.run.project.clone()),
        ("CIRCLE_REPOSITORY_URL".into(), values.git_url.clone()),
        ("CIRCLE_NODE_TOTAL".into(), "1".into()),
        ("CIRCLE_NODE_INDEX".into(), "0".into()),
        ("CIRCLE_PIPELINE_NUMBER".into(), values.number.to_string()),
        ("CIRCLE_BUILD_URL".into(), String::new()),
    ];
    for name in context {
        if let Some(vars) = shared.run.contexts.get(name) {
            env.extend(vars.iter().cloned());
        }
    }
    env.extend(job.environment.iter().cloned());
    if let Executor::Docker(images) = &job.executor {
        env.extend(images[0].environment.iter().cloned());
    }
    env
}

async fn prepare(
    shared: &Shared,
    name: &str,
    job: &Job,
    context: &[String],
    slots: &Slots,
    told: &mut Vec<usize>,
) -> Result<JobPlace, JobEnd> {
    let emitter = &shared.emitter;
    let spin_up = slots.spin_up.unwrap_or(0);
    let number = {
        let mut n = shared.numbers.lock().map_err(|_| JobEnd::Cancelled)?;
        *n += 1;
        *n
    };
    let remote_docker = job
        .steps
        .iter()
        .any(|s| matches!(s, Step::SetupRemoteDocker));
    match &job.executor {
        Executor::Machine => {
            let home = tempfile::Builder::new()
                .prefix("slipway-job-")
                .tempdir()
                .map_err(|e| {
                    JobEnd::Error(
                        None,
                        Problem::new(
                            ErrorCode::Io,
                            format!("cannot make a folder for job {name}: {e}"),
                        ),
                    )
                })?;
            let home_path = home.path().display().to_string();
            if let Ok(mut dirs) = shared.host_dirs.lock() {
                dirs.push(home);
            }
            let dir = files::absolute(&job.working_directory, &home_path, &home_path);
            let _ = std::fs::create_dir_all(&dir);
            emitter
                .line(
                    spin_up,
                    format!("machine job: runs on this host, in {dir}, with its Docker engine"),
                )
                .await;
            let mut env = job_env(shared, name, job, context, &dir, number);
            env.push(("HOME".into(), home_path.clone()));
            if let Ok(host) = std::env::var("DOCKER_HOST") {
                env.push(("DOCKER_HOST".into(), host));
            }
            let shell = shell_words(job.shell.as_deref().unwrap_or("/bin/bash -eo pipefail"));
            Ok(JobPlace {
                place: Place::Host,
                containers: Vec::new(),
                home: home_path,
                dir,
                shell,
                env,
                background: Vec::new(),
            })
        }
        Executor::Docker(images) => {
            let docker = shared.engine.docker();
            // Every image must be here: nothing is pulled behind the user's back.
            for image in images {
                if docker.inspect_image(&image.image).await.is_err() {
                    return Err(JobEnd::Error(
                        None,
                        Problem::new(
                            ErrorCode::DockerError,
                            format!("job {name}: the engine has no image {}", image.image),
                        )
                        .with_hint(format!(
                            "Get it first: `docker pull {0}`, or `docker load -i FILE` from a saved image, or build one tagged {0}; Slipway pulls nothing itself.",
                            image.image
                        )),
                    ));
                }
            }
            let primary = &images[0];
            let mut binds = Vec::new();
            let mut env: Vec<String> = primary
                .environment
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            if remote_docker {
                let host = &shared.engine.endpoint().host;
                if let Some(socket) = host.strip_prefix("unix://") {
                    binds.push(format!("{socket}:/var/run/docker.sock"));
                    env.push("DOCKER_HOST=unix:///var/run/docker.sock".into());
                } else {
                    env.push(format!("DOCKER_HOST={host}"));
                }
            }
            let (entrypoint, cmd) = match (&primary.entrypoint, &primary.command) {
                (None, None) => (
                    Some(vec!["/bin/sh".to_string()]),
                    Some(vec![
                        "-c".to_string(),
                        "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done".to_string(),
                    ]),
                ),
                (e, c) => (e.clone(), c.clone()),
            };
            let short = shared.emitter.out.run_id.short().to_string();
            let container_name = |part: &str| {
                let clean: String = format!("slipway-{short}-{name}-{part}")
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                            c
                        } else {
                            '-'
                        }
                    })
                    .collect();
                clean
            };
            let body = ContainerCreateBody {
                image: Some(primary.image.clone()),
                env: Some(env),
                entrypoint,
                cmd,
                user: primary.user.clone(),
                labels: Some(shared.labels.clone()),
                host_config: Some(HostConfig {
                    binds: (!binds.is_empty()).then_some(binds),
                    init: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let id = create_and_start(shared, &container_name("primary"), body).await?;
            emitter
                .line(
                    spin_up,
                    format!(
                        "{} (primary container {})",
                        primary.image,
                        &id[..12.min(id.len())]
                    ),
                )
                .await;
            let mut containers = vec![id.clone()];
            let mut background = Vec::new();
            // Secondary images share its network: they answer on localhost.
            for (image, &step) in images.iter().skip(1).zip(&slots.services) {
                emitter.emit(Event::StepStarted { step }).await;
                let began = Instant::now();
                let body = ContainerCreateBody {
                    image: Some(image.image.clone()),
                    env: Some(
                        image
                            .environment
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect(),
                    ),
                    entrypoint: image.entrypoint.clone(),
                    cmd: image.command.clone(),
                    user: image.user.clone(),
                    labels: Some(shared.labels.clone()),
                    host_config: Some(HostConfig {
                        network_mode: Some(format!("container:{id}")),
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                match create_and_start(shared, &container_name(&service_name(image)), body).await {
                    Ok(service) => {
                        told.push(step);
                        containers.push(service.clone());
                        emitter
                            .line(
                                step,
                                format!("{} answers on localhost, as on CircleCI", image.image),
                            )
                            .await;
                        emitter
                            .finish(
                                step,
                                StepStatus::Passed,
                                began.elapsed().as_millis() as u64,
                                None,
                                None,
                            )
                            .await;
                        background.push(tokio::spawn(crate::pipeline::container::follow_logs(
                            docker.clone(),
                            service,
                            emitter.out.clone(),
                            step,
                        )));
                    }
                    Err(end) => {
                        let message = match &end {
                            JobEnd::Error(_, p) => p.message.clone(),
                            _ => "cancelled".into(),
                        };
                        emitter
                            .finish(
                                step,
                                StepStatus::Failed,
                                began.elapsed().as_millis() as u64,
                                None,
                                Some(message),
                            )
                            .await;
                        told.push(step);
                        return Err(end);
                    }
                }
            }
            let place = Place::Container(Box::new(shared.engine.clone()), id.clone());
            // One exec learns the home folder, makes the job's folder and
            // looks for bash: each exec is a round trip to the engine.
            let probe = "d=\"$1\"; case \"$d\" in '~') d=\"$HOME\";; '~/'*) d=\"${HOME%/}/${d#\\~/}\";; esac; \
                         case \"$d\" in /*) ;; *) d=\"${HOME%/}/$d\";; esac; \
                         mkdir -p \"$d\"; printf '%s\\n%s\\n' \"${HOME:-/}\" \"$d\"; \
                         if [ -x /bin/bash ]; then echo bash; fi";
            let found = exec_capture(
                shared,
                &id,
                &["/bin/sh", "-c", probe, "probe", &job.working_directory],
            )
            .await
            .unwrap_or_default();
            let mut lines = found.lines();
            let home = lines
                .next()
                .filter(|h| !h.is_empty())
                .unwrap_or("/root")
                .to_string();
            let dir = lines
                .next()
                .map(str::to_string)
                .unwrap_or_else(|| files::absolute(&job.working_directory, &home, &home));
            let has_bash = lines.next() == Some("bash");
            let shell = match &job.shell {
                Some(s) => shell_words(s),
                None if has_bash => shell_words("/bin/bash -eo pipefail"),
                None => shell_words("/bin/sh -eo pipefail"),
            };
            let env = job_env(shared, name, job, context, &dir, number);
            Ok(JobPlace {
                place,
                containers,
                home,
                dir,
                shell,
                env,
                background,
            })
        }
    }
}

fn shell_words(shell: &str) -> Vec<String> {
    shlex::split(shell).unwrap_or_else(|| vec![shell.to_string()])
}

async fn create_and_start(
    shared: &Shared,
    name: &str,
    body: ContainerCreateBody,
) -> Result<String, JobEnd> {
    let docker = shared.engine.docker();
    let created = docker
        .create_container(
            Some(CreateContainerOptions {
                name: Some(name.to_string()),
                ..Default::default()
            }),
            body,
        )
        .await
        .map_err(|e| JobEnd::Error(None, shared.engine.error(e).problem()))?;
    if let Ok(mut all) = shared.containers.lock() {
        all.push(created.id.clone());
    }
    docker
        .start_container(&created.id, None)
        .await
        .map_err(|e| JobEnd::Error(None, shared.engine.error(e).problem()))?;
    Ok(created.id)
}

/// What `argv` prints in container `id`, trimmed; `None` when it fails.
async fn exec_capture(shared: &Shared, id: &str, argv: &[&str]) -> Option<String> {
    use futures_util::StreamExt;
    let docker = shared.engine.docker();
    let exec = docker
        .create_exec(
            id,
            CreateExecOptions {
                cmd: Some(argv.iter().map(|s| s.to_string()).collect()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await
        .ok()?;
    let mut text = String::new();
    if let StartExecResults::Attached { mut output, .. } =
        docker.start_exec(&exec.id, None).await.ok()?
    {
        while let Some(Ok(chunk)) = output.next().await {
            if let bollard::container::LogOutput::StdOut { message } = chunk {
                text.push_str(&String::from_utf8_lossy(&message));
            }
        }
    }
    let code = docker.inspect_exec(&exec.id).await.ok()?.exit_code;
    (code == Some(0)).then(|| text.trim().to_string())
}

async fn run_step(
    shared: &Shared,
    name: &str,
    job: &Job,
    step: &Step,
    index: usize,
    place: &mut JobPlace,
) -> Result<Option<i64>, StepFail> {
    let emitter = &shared.emitter;
    let error = |message: String| StepFail::Error(Problem::new(ErrorCode::DockerError, message));
    match step {
        Step::Run {
            command,
            shell,
            environment,
            working_directory,
            background,
            no_output_timeout,
            ..
        } => {
            let mut argv = match shell {
                Some(s) => shell_words(s),
                None => place.shell.clone(),
            };
            argv.push("-c".into());
            argv.push(command.clone());
            let mut env = place.env.clone();
            env.extend(environment.iter().cloned());
            let dir = match working_directory {
                Some(d) => files::absolute(d, &place.home, &place.dir),
                None => place.dir.clone(),
            };
            let command = Command { argv, env, dir };
            if *background {
                let (emitter, target) = (emitter.clone(), place.place.clone());
                let task = tokio::spawn(async move {
                    let _ = exec(&emitter, &target, &command, index, Duration::MAX).await;
                });
                place.background.push(task);
                shared
                    .emitter
                    .line(index, "runs in the background while the next steps go")
                    .await;
                return Ok(None);
            }
            let (code, tail) =
                exec(emitter, &place.place, &command, index, *no_output_timeout).await?;
            if code == 0 {
                Ok(Some(0))
            } else {
                let mut message = format!("exited with code {code}");
                if !tail.is_empty() {
                    message.push('\n');
                    message.push_str(&tail);
                }
                Err(StepFail::Failed(message, Some(code)))
            }
        }
        Step::Checkout { path } => {
            let at = match path {
                Some(p) => files::absolute(p, &place.home, &place.dir),
                None => place.dir.clone(),
            };
            let root = shared.run.root.clone();
            let prefix = at.clone();
            let (tar, count) =
                tokio::task::spawn_blocking(move || files::project_tar(&root, &prefix))
                    .await
                    .map_err(|e| error(e.to_string()))?
                    .map_err(error)?;
            place.place.write_tar(tar).await.map_err(error)?;
            let git = shared.git.as_ref();
            let what = match git {
                Some(g) => format!(
                    "{} at {}",
                    g.branch.as_deref().unwrap_or("a detached HEAD"),
                    crate::git::short_sha(&g.commit)
                ),
                None => "the project folder".into(),
            };
            emitter
                .line(
                    index,
                    format!("checked out {count} files of {what} into {at}"),
                )
                .await;
            if git.is_some_and(|g| g.dirty) {
                emitter
                    .line(index, "note: the working tree has uncommitted changes, and they are in the job (CircleCI would check out the commit)")
                    .await;
            }
            Ok(None)
        }
        Step::SetupRemoteDocker => {
            emitter
                .line(index, "the job uses this machine's Docker engine")
                .await;
            Ok(None)
        }
        Step::Noted { why, .. } => {
            emitter.line(index, why.clone()).await;
            Ok(None)
        }
        Step::FromOrb { name, orb, .. } => Err(StepFail::Error(Problem::new(
            ErrorCode::BadConfig,
            format!("{name} comes from the orb {orb}, which cannot be fetched here"),
        ))),
        Step::SaveCache { key, paths, .. } => {
            let Some(store) = &shared.run.caches else {
                emitter
                    .line(index, "no data folder: caches are not kept")
                    .await;
                return Ok(None);
            };
            let key = render_key(shared, key, place, job)
                .await
                .map_err(|e| StepFail::Failed(e, None))?;
            if store.has(&key) {
                emitter
                    .line(
                        index,
                        format!("a cache is already kept for {key}: not saved again"),
                    )
                    .await;
                return Ok(None);
            }
            let mut builder = tar::Builder::new(Vec::new());
            let mut files_kept = 0;
            for path in paths {
                let full = files::absolute(path, &place.home, &place.dir);
                let Some(tar) = place.place.read_tar(&full).await.map_err(error)? else {
                    emitter
                        .line(index, format!("{full} does not exist: not kept"))
                        .await;
                    continue;
                };
                files_kept +=
                    files::rebase(&tar, files::split(&full).0, &mut builder).map_err(error)?;
            }
            let tar = builder.into_inner().map_err(|e| error(e.to_string()))?;
            let bytes = tar.len();
            let store = store.clone();
            let saved_key = key.clone();
            tokio::task::spawn_blocking(move || store.save(&saved_key, &tar))
                .await
                .map_err(|e| error(e.to_string()))?
                .map_err(|e| error(format!("cannot keep the cache: {e}")))?;
            emitter
                .line(
                    index,
                    format!("saved {files_kept} files ({}) as {key}", size(bytes as u64)),
                )
                .await;
            Ok(None)
        }
        Step::RestoreCache { keys, .. } => {
            let Some(store) = &shared.run.caches else {
                emitter
                    .line(index, "no data folder: caches are not kept")
                    .await;
                return Ok(None);
            };
            let mut rendered = Vec::new();
            for key in keys {
                rendered.push(
                    render_key(shared, key, place, job)
                        .await
                        .map_err(|e| StepFail::Failed(e, None))?,
                );
            }
            let store = store.clone();
            let wanted = rendered.clone();
            let found = tokio::task::spawn_blocking(move || store.find(&wanted))
                .await
                .map_err(|e| error(e.to_string()))?;
            match found {
                Some((key, tar)) => {
                    let count = files::files_of(&tar).len();
                    place.place.write_tar(tar).await.map_err(error)?;
                    emitter
                        .line(index, format!("restored {count} files from {key}"))
                        .await;
                }
                None => {
                    emitter
                        .line(index, format!("no cache found for {}", rendered.join(", ")))
                        .await
                }
            }
            Ok(None)
        }
        Step::PersistToWorkspace { root, paths } => {
            let root = files::absolute(root, &place.home, &place.dir);
            let mut builder = tar::Builder::new(Vec::new());
            let mut count = 0;
            for path in paths {
                let full = files::absolute(path, &place.home, &root);
                let Some(tar) = place.place.read_tar(&full).await.map_err(error)? else {
                    return Err(StepFail::Failed(
                        format!("{full} does not exist: nothing to persist"),
                        None,
                    ));
                };
                let parent = files::split(&full).0;
                let relative = parent
                    .strip_prefix(root.trim_end_matches('/'))
                    .unwrap_or("");
                count += files::rebase(&tar, relative, &mut builder).map_err(error)?;
            }
            let tar = builder.into_inner().map_err(|e| error(e.to_string()))?;
            if let Ok(mut layers) = shared.workspace.lock() {
                layers.push(tar);
            }
            emitter
                .line(
                    index,
                    format!("persisted {count} files from {root} for the jobs after {name}"),
                )
                .await;
            Ok(None)
        }
        Step::AttachWorkspace { at } => {
            let at = files::absolute(at, &place.home, &place.dir);
            let layers = shared
                .workspace
                .lock()
                .map(|l| l.clone())
                .unwrap_or_default();
            if layers.is_empty() {
                emitter
                    .line(index, "no job before this one persisted anything")
                    .await;
                return Ok(None);
            }
            let mut builder = tar::Builder::new(Vec::new());
            let mut count = 0;
            for layer in &layers {
                count += files::rebase(layer, &at, &mut builder).map_err(error)?;
            }
            let tar = builder.into_inner().map_err(|e| error(e.to_string()))?;
            place.place.write_tar(tar).await.map_err(error)?;
            emitter
                .line(index, format!("attached {count} files at {at}"))
                .await;
            Ok(None)
        }
        Step::StoreTestResults { path } => {
            let full = files::absolute(path, &place.home, &place.dir);
            let Some(tar) = place.place.read_tar(&full).await.map_err(error)? else {
                emitter
                    .line(index, format!("{full} does not exist: no test results"))
                    .await;
                return Ok(None);
            };
            let mut cases = Vec::new();
            for (file, bytes) in files::files_of(&tar) {
                if !file.ends_with(".xml") {
                    continue;
                }
                match super::junit::parse(&String::from_utf8_lossy(&bytes)) {
                    Ok(found) => cases.extend(found),
                    Err(why) => {
                        emitter
                            .line(index, format!("{file} is not a JUnit report: {why}"))
                            .await
                    }
                }
            }
            let failed: Vec<&crate::event::TestCase> = cases
                .iter()
                .filter(|c| {
                    matches!(
                        c.result,
                        crate::event::TestResult::Failed | crate::event::TestResult::Error
                    )
                })
                .collect();
            emitter
                .line(
                    index,
                    format!("{} tests, {} failed", cases.len(), failed.len()),
                )
                .await;
            emitter
                .emit(Event::TestResults {
                    step: index,
                    job: name.to_string(),
                    cases,
                })
                .await;
            Ok(None)
        }
        Step::StoreArtifacts { path, destination } => {
            let full = files::absolute(path, &place.home, &place.dir);
            let Some(dir) = &shared.run.artifacts else {
                emitter
                    .line(index, "no data folder: artifacts are not kept")
                    .await;
                return Ok(None);
            };
            let Some(tar) = place.place.read_tar(&full).await.map_err(error)? else {
                emitter
                    .line(index, format!("{full} does not exist: no artifacts"))
                    .await;
                return Ok(None);
            };
            let target = dir
                .join(shared.emitter.out.run_id.to_string())
                .join(name)
                .join(destination.as_deref().unwrap_or("").trim_start_matches('/'));
            let count = files::files_of(&tar).len();
            let into = target.clone();
            tokio::task::spawn_blocking(move || {
                std::fs::create_dir_all(&into)?;
                tar::Archive::new(std::io::Cursor::new(tar)).unpack(&into)
            })
            .await
            .map_err(|e| error(e.to_string()))?
            .map_err(|e| {
                error(format!(
                    "cannot keep the artifacts in {}: {e}",
                    target.display()
                ))
            })?;
            emitter
                .line(index, format!("kept {count} files in {}", target.display()))
                .await;
            Ok(None)
        }
    }
}

fn size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

/// A cache key template rendered in the job: files read from where the job runs.
async fn render_key(
    shared: &Shared,
    template: &str,
    place: &JobPlace,
    job: &Job,
) -> Result<String, String> {
    let mut files_read: HashMap<String, Vec<u8>> = HashMap::new();
    let mut rest = template;
    while let Some(at) = rest.find("checksum") {
        let after = &rest[at + "checksum".len()..];
        let file = after.trim_start().trim_start_matches('"');
        let end = file.find('"').unwrap_or(file.len());
        let file = &file[..end];
        let full = files::absolute(file, &place.home, &place.dir);
        if let Ok(Some(tar)) = place.place.read_tar(&full).await
            && let Some((_, bytes)) = files::files_of(&tar).into_iter().next()
        {
            files_read.insert(file.to_string(), bytes);
        }
        rest = &after[end.min(after.len())..];
        if rest.len() == after.len() {
            break;
        }
    }
    let read = |f: &str| files_read.get(f).cloned();
    let mut env = place.env.clone();
    env.extend(job.environment.iter().cloned());
    let values = super::keys::KeyValues {
        branch: shared.run.values.branch.as_deref().unwrap_or(""),
        revision: shared.git.as_ref().map_or("", |g| g.commit.as_str()),
        build_num: shared.run.values.number,
        environment: &env,
        epoch: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        read: &read,
    };
    super::keys::render(template, &values)
}

/// A command for a job's place.
struct Command {
    argv: Vec<String>,
    env: Vec<(String, String)>,
    dir: String,
}

/// Runs `command`, its output into step `index`: its exit code and last lines.
async fn exec(
    emitter: &Emitter,
    place: &Place,
    command: &Command,
    index: usize,
    quiet_limit: Duration,
) -> Result<(i64, String), StepFail> {
    match place {
        Place::Container(engine, id) => {
            exec_in_container(emitter, engine, id, command, index, quiet_limit).await
        }
        Place::Host => exec_on_host(emitter, command, index, quiet_limit).await,
    }
}

fn too_quiet(limit: Duration, tail: &Tail) -> StepFail {
    let mut message = format!("no output for {}: stopped", crate::duration::display(limit));
    let output = tail.joined();
    if !output.is_empty() {
        message.push('\n');
        message.push_str(&output);
    }
    StepFail::Failed(message, None)
}

async fn exec_in_container(
    emitter: &Emitter,
    engine: &Engine,
    id: &str,
    command: &Command,
    index: usize,
    quiet_limit: Duration,
) -> Result<(i64, String), StepFail> {
    let docker = engine.docker();
    let options = CreateExecOptions {
        cmd: Some(command.argv.clone()),
        env: Some(
            command
                .env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        ),
        working_dir: Some(command.dir.clone()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..Default::default()
    };
    let problem = |e| StepFail::Error(engine.error(e).problem());
    let exec = docker.create_exec(id, options).await.map_err(problem)?;
    let started = docker.start_exec(&exec.id, None).await.map_err(problem)?;
    let StartExecResults::Attached { mut output, .. } = started else {
        return Err(StepFail::Error(Problem::new(
            ErrorCode::DockerError,
            "the engine detached the step",
        )));
    };
    let mut tail = Tail::new(FAILURE_LINES);
    let read = read_output(
        &mut output,
        Some(quiet_limit),
        &mut tail,
        |stream, lines| emitter.lines(index, stream, lines),
    )
    .await;
    match read {
        Err(OutputEnd::Quiet) => return Err(too_quiet(quiet_limit, &tail)),
        Err(OutputEnd::Engine(e)) => return Err(problem(e)),
        Ok(()) => {}
    }
    let inspect = docker.inspect_exec(&exec.id).await.map_err(problem)?;
    let code = inspect.exit_code.unwrap_or(-1);
    if code == 126 || code == 127 {
        tail.push(&format!(
            "(exit code {code}: the command or its shell was not found in the image)"
        ));
    }
    Ok((code, tail.joined()))
}

async fn exec_on_host(
    emitter: &Emitter,
    command: &Command,
    index: usize,
    quiet_limit: Duration,
) -> Result<(i64, String), StepFail> {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(&command.argv[0]);
    child
        .args(&command.argv[1..])
        .current_dir(&command.dir)
        .envs(command.env.iter().cloned())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    let mut child = child
        .spawn()
        .map_err(|e| StepFail::Failed(format!("cannot start {}: {e}", command.argv[0]), None))?;
    let _group = crate::process_group::GroupGuard(child.id());
    let mut stdout = child.stdout.take().map(|s| BufReader::new(s).lines());
    let mut stderr = child.stderr.take().map(|s| BufReader::new(s).lines());
    let mut tail = Tail::new(FAILURE_LINES);
    while stdout.is_some() || stderr.is_some() {
        let read = async {
            tokio::select! {
                line = next_line(&mut stdout) => (line, LogStream::Stdout),
                line = next_line(&mut stderr) => (line, LogStream::Stderr),
            }
        };
        let (line, stream) = match tokio::time::timeout(quiet_limit, read).await {
            Err(_) => return Err(too_quiet(quiet_limit, &tail)),
            Ok(read) => read,
        };
        match line {
            Some(line) => {
                tail.push(&line);
                emitter.lines(index, stream, vec![line]).await;
            }
            None if stream == LogStream::Stdout => stdout = None,
            None => stderr = None,
        }
    }
    let status = child
        .wait()
        .await
        .map_err(|e| StepFail::Failed(format!("waiting for the step failed: {e}"), None))?;
    use std::os::unix::process::ExitStatusExt;
    let code = status
        .code()
        .map(i64::from)
        .or(status.signal().map(|s| 128 + i64::from(s)))
        .unwrap_or(-1);
    Ok((code, tail.joined()))
}
