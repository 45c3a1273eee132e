// The live view of a run, folded from its events. Pure functions, so the
// UI's logic is tested without a window.

import type { Outcome, Problem, Pushed, RunDetails, RunEvent, StepKind } from "./ipc";
import type { TestCase_Serialize as TestCase, WorkflowInfo } from "./bindings";
import type { LogSource, LogTail } from "./logSource";

export type StepState = "pending" | "running" | "passed" | "failed" | "skipped" | "cancelled";

export interface BuildStepView {
  number: number;
  total: number;
  instruction: string;
  durationMs?: number;
  cached?: boolean;
}

export interface StepView {
  name: string;
  kind: StepKind;
  state: StepState;
  startedMs?: number;
  durationMs?: number;
  exitCode?: number | null;
  message?: string | null;
  build: BuildStepView[];
  /** The workflow job it belongs to (a CircleCI workflow run). */
  job?: string | null;
}

export type JobState = StepState | "waiting";

/** One job of a workflow run. */
export interface JobView {
  name: string;
  requires: string[];
  approval: boolean;
  state: JobState;
  durationMs?: number;
  message?: string | null;
}

/** A test case a job's test results reported. */
export interface TestView extends TestCase {
  job: string;
}

export interface RunView {
  runId: string;
  project: string;
  image: string;
  branch?: string | null;
  commit?: string | null;
  steps: StepView[];
  elapsedMs: number;
  url?: string | null;
  context?: { files: number; bytes: number };
  outcome?: Outcome;
  durationMs?: number;
  /** The live log (its lines stay in Rust; see logSource.ts). */
  logs: LiveLog;
  /** Wall-clock time (ms) the latest event arrived, to extrapolate `elapsedMs`. */
  receivedAt: number;
  /** The CircleCI workflow this run is, with its jobs' states. */
  workflow?: { name: string; jobs: JobView[] };
  /** Test cases its jobs reported. */
  tests: TestView[];
}

/** A run's live log: read a window at a time, told when it grows. */
export interface LiveLog extends LogSource {
  grew(total: number, tail?: LogTail): void;
}

export function newRun(runId: string, logs: LiveLog): RunView {
  return { runId, project: "", image: "", steps: [], elapsedMs: 0, logs, receivedAt: 0, tests: [] };
}

/** Applies what a run's channel carried: events, and how far its log got. */
export function applyPushed(run: RunView, batch: Pushed[]): RunView {
  for (const item of batch) {
    if (item.kind === "event") {
      applyEvent(run, item.event);
    } else {
      run.elapsedMs = Math.max(run.elapsedMs, item.elapsed_ms);
      run.logs.grew(item.total, { first: item.first, rows: item.tail });
    }
  }
  return run;
}

/** Applies one event to a run view (mutates and returns it). */
export function applyEvent(run: RunView, ev: RunEvent): RunView {
  run.elapsedMs = Math.max(run.elapsedMs, ev.elapsed_ms);
  switch (ev.type) {
    case "run_started":
      run.project = ev.project;
      run.image = ev.image;
      run.branch = ev.git?.branch ?? null;
      run.commit = ev.git?.commit ?? null;
      run.steps = ev.steps.map((s) => ({ name: s.name, kind: s.kind, state: "pending", build: [], job: s.job ?? null }));
      run.workflow = ev.workflow ? workflowView(ev.workflow) : undefined;
      break;
    case "job_started":
      setJob(run, ev.job, { state: "running" });
      break;
    case "job_finished":
      setJob(run, ev.job, { state: ev.status, durationMs: ev.duration_ms, message: ev.message });
      break;
    case "approval_waiting":
      setJob(run, ev.job, { state: "waiting" });
      break;
    case "test_results":
      run.tests.push(...ev.cases.map((c) => ({ ...c, job: ev.job })));
      break;
    case "step_started": {
      const step = run.steps[ev.step];
      if (step) {
        step.state = "running";
        step.startedMs = ev.elapsed_ms;
      }
      break;
    }
    case "build_step_started":
      run.steps[ev.step]?.build.push({ number: ev.number, total: ev.total, instruction: ev.instruction });
      break;
    case "build_step_finished": {
      const b = run.steps[ev.step]?.build.find((s) => s.number === ev.number && s.durationMs === undefined);
      if (b) {
        b.durationMs = ev.duration_ms;
        b.cached = ev.cached;
      }
      break;
    }
    case "context_progress":
      run.context = { files: ev.files, bytes: ev.bytes };
      break;
    case "container_started":
      run.url = ev.url;
      break;
    case "step_finished": {
      const step = run.steps[ev.step];
      if (step) {
        step.state = ev.status;
        step.durationMs = ev.duration_ms;
        step.exitCode = ev.exit_code;
        step.message = ev.message;
      }
      break;
    }
    case "verdict":
      // The result, told before cleanup ends (the time to it is the run's).
      run.outcome = ev.outcome;
      run.durationMs = ev.duration_ms;
      break;
    case "run_finished":
      run.durationMs = run.outcome ? run.durationMs : ev.duration_ms;
      run.outcome = ev.outcome;
      break;
    default:
      break;
  }
  return run;
}

/** A workflow's jobs, all still to run. */
export function workflowView(info: WorkflowInfo): { name: string; jobs: JobView[] } {
  return {
    name: info.name,
    jobs: info.jobs.map((j) => ({ name: j.name, requires: j.requires, approval: j.approval, state: "pending" })),
  };
}

function setJob(run: RunView, name: string, change: Partial<JobView>): void {
  const job = run.workflow?.jobs.find((j) => j.name === name);
  if (job) Object.assign(job, change);
}

/** A workflow's jobs in columns: each job one column after the last it requires. */
export function jobColumns(jobs: JobView[]): JobView[][] {
  const depth = new Map<string, number>();
  const columns: JobView[][] = [];
  for (const job of jobs) {
    const d = Math.max(-1, ...job.requires.map((r) => depth.get(r) ?? -1)) + 1;
    depth.set(job.name, d);
    (columns[d] ??= []).push(job);
  }
  return columns;
}

/** Test cases with the failed and errored first, then in report order. */
export function failuresFirst(tests: TestView[]): TestView[] {
  const bad = (t: TestView) => t.result === "failed" || t.result === "error";
  return [...tests.filter(bad), ...tests.filter((t) => !bad(t))];
}

/** The run's clock now: its last event's time plus what has passed since. */
export function runClock(run: RunView, wallNow: number): number {
  if (run.outcome || !run.receivedAt) return run.elapsedMs;
  return run.elapsedMs + Math.max(0, wallNow - run.receivedAt);
}

/** The step currently running, if any. */
export function currentStep(run: RunView): StepView | undefined {
  return run.steps.find((s) => s.state === "running");
}

/** Milliseconds a step has taken so far (or in all, once finished). */
export function stepDuration(step: StepView, nowMs: number): number | undefined {
  if (step.durationMs !== undefined) return step.durationMs;
  if (step.startedMs !== undefined) return Math.max(0, nowMs - step.startedMs);
  return undefined;
}

/** One line saying how a run ended. */
export function outcomeText(outcome: Outcome): string {
  switch (outcome.result) {
    case "passed":
      return "Passed";
    case "failed":
      return `Failed at ${outcome.step_name}`;
    case "cancelled":
      return "Cancelled";
    case "error":
      return outcome.problem.message;
  }
}

/** A finished run as the history kept it, shown like a live one ended. */
export function rememberedRun(details: RunDetails, logs: LiveLog): RunView {
  const { run, steps } = details;
  const failedAt = steps.findIndex((s) => s.status === "failed");
  const outcome: Outcome =
    run.result === "passed" ? { result: "passed" }
    : run.result === "cancelled" ? { result: "cancelled" }
    : run.result === "failed" ? {
        result: "failed",
        step: Math.max(failedAt, 0),
        step_name: run.failed_step ?? steps[failedAt]?.name ?? "",
        message: run.message ?? "",
      }
    : {
        result: "error",
        step: failedAt >= 0 ? failedAt : null,
        problem: {
          code: "io",
          message: run.message ?? (run.result === "interrupted" ? "Interrupted: Slipway stopped before the run ended" : "The run stopped"),
        } as Problem,
      };
  return {
    runId: run.id,
    project: run.project,
    image: run.image,
    branch: run.git_branch,
    commit: run.git_commit,
    steps: steps.map((s) => ({
      name: s.name,
      kind: s.kind,
      state: s.status === "pending" ? "skipped" : s.status,
      durationMs: s.duration_ms ?? undefined,
      exitCode: s.exit_code,
      message: s.message,
      build: [],
      job: s.job,
    })),
    workflow: rememberedWorkflow(details),
    tests: details.tests.map((t) => ({ ...t.case, job: t.job })),
    elapsedMs: run.duration_ms ?? 0,
    outcome,
    durationMs: run.duration_ms ?? undefined,
    logs,
    receivedAt: 0,
  };
}

/** A recorded workflow run's jobs: its graph as kept, each job's state from its steps. */
function rememberedWorkflow(details: RunDetails): RunView["workflow"] {
  const { steps } = details;
  const graph = details.workflow?.jobs ?? [...new Set(steps.flatMap((s) => (s.job ? [s.job] : [])))]
    .map((name) => ({ name, requires: [] as string[], approval: false }));
  if (!graph.length) return undefined;
  const jobs: JobView[] = graph.map(({ name, requires, approval }) => {
    const own = steps.filter((s) => s.job === name);
    const state: JobState = own.some((s) => s.status === "failed") ? "failed"
      : own.some((s) => s.status === "cancelled") ? "cancelled"
      : own.every((s) => s.status === "skipped" || s.status === "pending") ? "skipped"
      : "passed";
    return { name, requires, approval: approval || own.some((s) => s.kind === "approval"), state };
  });
  return { name: details.workflow?.name ?? "", jobs };
}
