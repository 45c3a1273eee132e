//! The typed events a pipeline run reports, in order. The CLI prints them
//! (`--json` writes one per line), the desktop app renders them, and the
//! history records them; all three see the same stream.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::Problem;

/// Identifies one pipeline run (a UUIDv7, so ids sort by start time).
/// Shared, not copied: every event of a run carries it, and a busy log is
/// hundreds of thousands of events a second.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub std::sync::Arc<str>);

impl RunId {
    /// A fresh id.
    pub fn new() -> Self {
        RunId(uuid::Uuid::now_v7().simple().to_string().into())
    }

    /// The last 8 hex digits: random, so they tell runs apart, and short
    /// enough to type.
    pub fn short(&self) -> &str {
        &self.0[self.0.len().saturating_sub(8)..]
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One event of a run, with when it happened.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEvent {
    /// The run it belongs to.
    pub run_id: RunId,
    /// Milliseconds since the run started.
    pub elapsed_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

/// What happened in a run.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The run began; `steps` is the whole plan.
    RunStarted {
        /// Project name.
        project: String,
        /// Project folder.
        root: PathBuf,
        /// Image being built, `name:tag`.
        image: String,
        /// Git state of the folder, when it is a repository.
        git: Option<GitInfo>,
        /// The Docker engine it runs on (`unix:///var/run/docker.sock`,
        /// `tcp://host:2376`), as found from DOCKER_HOST or the context.
        #[serde(default)]
        engine: String,
        /// Every step of the run, in order.
        steps: Vec<StepInfo>,
        /// Wall-clock start, milliseconds since the Unix epoch.
        started_at_ms: u64,
        /// The CircleCI workflow this run is, with its jobs; `None` for a pipeline.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        workflow: Option<Box<WorkflowInfo>>,
    },
    /// A workflow's job began.
    JobStarted {
        /// Its name.
        job: String,
    },
    /// A workflow's job ended (or never ran: skipped).
    JobFinished {
        /// Its name.
        job: String,
        /// How it ended.
        status: StepStatus,
        /// How long it took.
        duration_ms: u64,
        /// Why it failed or was skipped.
        message: Option<String>,
    },
    /// A job waits for a person to approve it (`type: approval`).
    ApprovalWaiting {
        /// The approval job.
        job: String,
        /// Its step.
        step: usize,
    },
    /// A step read test results (JUnit XML).
    TestResults {
        /// The step that read them.
        step: usize,
        /// Its job.
        job: String,
        /// Every case, in report order.
        cases: Vec<TestCase>,
    },
    /// A step began.
    StepStarted {
        /// Index into the plan.
        step: usize,
    },
    /// A line of output.
    Log {
        /// The step it belongs to.
        step: usize,
        /// Where it came from.
        stream: LogStream,
        /// The line, without its line break.
        line: String,
    },
    /// The build began one of the Dockerfile's instructions.
    BuildStepStarted {
        /// The build step.
        step: usize,
        /// 1-based instruction number.
        number: u32,
        /// Number of instructions.
        total: u32,
        /// The instruction, e.g. `RUN make`.
        instruction: String,
    },
    /// The build finished one of the Dockerfile's instructions.
    BuildStepFinished {
        /// The build step.
        step: usize,
        /// 1-based instruction number.
        number: u32,
        /// How long it took.
        duration_ms: u64,
        /// Whether the layer came from the cache.
        cached: bool,
    },
    /// The build context is being sent.
    ContextProgress {
        /// The build step.
        step: usize,
        /// Files sent so far.
        files: u64,
        /// Bytes sent so far.
        bytes: u64,
    },
    /// The image was built.
    ImageBuilt {
        /// The build step.
        step: usize,
        /// Image id (`sha256:...`).
        image_id: String,
    },
    /// The container is running.
    ContainerStarted {
        /// The run step.
        step: usize,
        /// Container id.
        container_id: String,
        /// Container name.
        name: String,
        /// Published ports as actually bound.
        ports: Vec<PublishedPort>,
        /// URL of the first published port.
        url: Option<String>,
    },
    /// A step ended.
    StepFinished {
        /// Index into the plan.
        step: usize,
        /// How it ended.
        status: StepStatus,
        /// How long it took.
        duration_ms: u64,
        /// Exit code, for steps that run a process.
        exit_code: Option<i64>,
        /// One sentence on why it failed or was skipped.
        message: Option<String>,
    },
    /// A passed or failed run's result, as soon as its last step before
    /// cleanup ended; cleanup follows, then `RunFinished`. A cancelled or
    /// broken run has none: `RunFinished` tells it after cleanup.
    Verdict {
        /// The result.
        outcome: Outcome,
        /// Time to the verdict.
        duration_ms: u64,
    },
    /// The run ended. Always the last event.
    RunFinished {
        /// The result.
        outcome: Outcome,
        /// Total duration.
        duration_ms: u64,
        /// The image built, if the build got that far.
        image_id: Option<String>,
    },
}

/// Git state of a project folder.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitInfo {
    /// Commit id of HEAD.
    pub commit: String,
    /// Branch name; `None` on a detached HEAD.
    pub branch: Option<String>,
    /// Whether there are uncommitted changes.
    pub dirty: bool,
}

/// One step of the plan.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepInfo {
    /// Name shown in the timeline.
    pub name: String,
    /// What it does.
    pub kind: StepKind,
    /// The workflow job it belongs to; `None` in a pipeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
}

/// A CircleCI workflow as a run: its name and its jobs, in order.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowInfo {
    /// The workflow's name.
    pub name: String,
    /// Its jobs, each after what it requires.
    pub jobs: Vec<JobInfo>,
}

/// One job of a workflow.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobInfo {
    /// Its name.
    pub name: String,
    /// The jobs it waits for.
    pub requires: Vec<String>,
    /// Whether it is an approval.
    pub approval: bool,
}

/// One test case of a JUnit report.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCase {
    /// The case's name.
    pub name: String,
    /// Its class or suite.
    pub classname: Option<String>,
    /// How it ended.
    pub result: TestResult,
    /// How long it took.
    pub time_ms: Option<u64>,
    /// The failure's message.
    pub message: Option<String>,
    /// The failure's text (a traceback).
    pub detail: String,
    /// Its file, when the report says.
    pub file: Option<String>,
}

/// How a test case ended.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestResult {
    /// It passed.
    Passed,
    /// An assertion failed.
    Failed,
    /// It raised an error.
    Error,
    /// It did not run.
    Skipped,
}

/// The index of the first step of `kind` in a run's steps.
pub fn step_of_kind(steps: &[StepInfo], kind: StepKind) -> Option<usize> {
    steps.iter().position(|s| s.kind == kind)
}

/// The kinds of step.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Build the image.
    Build,
    /// Start the container.
    Run,
    /// Wait until the service answers.
    Ready,
    /// A test step.
    Test,
    /// Wait for a person to approve (a workflow's approval job).
    Approval,
    /// Remove the containers.
    Cleanup,
}

/// Where a log line came from.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogStream {
    /// Build output.
    Build,
    /// Standard output of a step's process.
    Stdout,
    /// Standard error of a step's process.
    Stderr,
    /// The service container's own output.
    Container,
}

/// How a step ended.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// It did what it should.
    Passed,
    /// It did not; the run fails.
    Failed,
    /// It did not run (an earlier step failed, or nothing to do).
    Skipped,
    /// The run was cancelled while it ran.
    Cancelled,
}

/// A published port as bound by the engine.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPort {
    /// Port inside the container.
    pub container_port: u16,
    /// Host address it is bound to.
    pub host_ip: String,
    /// Host port.
    pub host_port: u16,
}

/// The result of a run.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    /// Every step passed.
    Passed,
    /// A step failed.
    Failed {
        /// Index of the failing step.
        step: usize,
        /// Its name.
        step_name: String,
        /// Why it failed.
        message: String,
    },
    /// The user cancelled the run.
    Cancelled,
    /// The environment stopped the run (engine unreachable, port taken, ...).
    Error {
        /// The step it happened in, if any.
        step: Option<usize>,
        /// What went wrong and what to do.
        problem: Problem,
    },
}

impl Outcome {
    /// A one-word label: `passed`, `failed`, `cancelled` or `error`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed { .. } => "failed",
            Outcome::Cancelled => "cancelled",
            Outcome::Error { .. } => "error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_flat_with_a_type_tag() {
        let ev = RunEvent {
            run_id: RunId("abc".into()),
            elapsed_ms: 5,
            event: Event::StepStarted { step: 1 },
        };
        let json = serde_json::to_string(&ev).unwrap();
        assert_eq!(
            json,
            r#"{"run_id":"abc","elapsed_ms":5,"type":"step_started","step":1}"#
        );
        let back: RunEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ev);
    }

    #[test]
    fn run_ids_are_unique_and_short_form_is_typable() {
        let (a, b) = (RunId::new(), RunId::new());
        assert_ne!(a, b);
        assert_ne!(a.short(), b.short());
        assert_eq!(a.short().len(), 8);
    }
}
