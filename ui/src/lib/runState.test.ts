import { describe, expect, it } from "vitest";
import type { Event_Serialize } from "./bindings";
import type { Pushed, RunDetails, RunEvent } from "./ipc";
import { LogBuffer } from "./logBuffer";
import type { LogTail } from "./logSource";
import { applyEvent, applyPushed, currentStep, failuresFirst, jobColumns, newRun, outcomeText, rememberedRun, runClock, stepDuration, type LiveLog } from "./runState";

/** A live log that records how far it was told the log got, and the newest rows it was sent. */
class Told extends LogBuffer {
  told: number[] = [];
  tails: (LogTail | undefined)[] = [];
  grew(total: number, tail?: LogTail): void {
    this.told.push(total);
    this.tails.push(tail);
  }
}

const ev = (elapsed_ms: number, e: Event_Serialize): RunEvent => ({ run_id: "r1", elapsed_ms, ...e });

describe("run view", () => {
  it("folds a whole run", () => {
    const run = newRun("r1", new Told(10));
    applyEvent(run, ev(0, {
      type: "run_started", project: "hello", root: "/p", image: "hello:latest",
      git: { commit: "abc", branch: "main", dirty: false }, engine: "unix:///var/run/docker.sock",
      steps: [{ name: "build", kind: "build" }, { name: "run", kind: "run" }, { name: "cleanup", kind: "cleanup" }],
      started_at_ms: 1,
    }));
    expect(run.steps.map((s) => s.state)).toEqual(["pending", "pending", "pending"]);
    applyEvent(run, ev(5, { type: "step_started", step: 0 }));
    applyEvent(run, ev(6, { type: "build_step_started", step: 0, number: 1, total: 2, instruction: "COPY a b" }));
    applyEvent(run, ev(9, { type: "build_step_finished", step: 0, number: 1, duration_ms: 3, cached: true }));
    applyEvent(run, ev(10, { type: "context_progress", step: 0, files: 3, bytes: 120 }));
    expect(currentStep(run)?.name).toBe("build");
    expect(stepDuration(run.steps[0], 50)).toBe(45);
    run.receivedAt = 1000;
    expect(runClock(run, 1250)).toBe(260);
    applyEvent(run, ev(60, { type: "step_finished", step: 0, status: "passed", duration_ms: 55, exit_code: null, message: null }));
    applyEvent(run, ev(61, { type: "container_started", step: 1, container_id: "c", name: "n", ports: [], url: "http://127.0.0.1:1" }));
    applyEvent(run, ev(70, { type: "step_finished", step: 1, status: "failed", duration_ms: 9, exit_code: 3, message: "boom" }));
    applyEvent(run, ev(71, { type: "step_finished", step: 2, status: "passed", duration_ms: 1, exit_code: null, message: null }));
    applyEvent(run, ev(72, { type: "run_finished", outcome: { result: "failed", step: 1, step_name: "run", message: "boom" }, duration_ms: 72, image_id: null }));

    expect(run.steps.map((s) => s.state)).toEqual(["passed", "failed", "passed"]);
    expect(run.steps[0].build[0]).toMatchObject({ number: 1, cached: true, durationMs: 3 });
    expect(run.url).toBe("http://127.0.0.1:1");
    expect(run.context).toEqual({ files: 3, bytes: 120 });
    expect(run.outcome && outcomeText(run.outcome)).toBe("Failed at run");
    expect(run.steps[1].exitCode).toBe(3);
  });

  it("tells the live log how far it got, between events", () => {
    const run = newRun("r1", new Told(10));
    applyEvent(run, ev(0, { type: "run_started", project: "p", root: "/p", image: "i", git: null, engine: "", started_at_ms: 1, steps: [
      { name: "test", kind: "test" },
    ] }));
    const row = (seq: number) => ({ seq, step: 0, stream: "stdout" as const, text: `line ${seq}` });
    const batch: Pushed[] = [
      { kind: "log", elapsed_ms: 40, total: 3, first: 0, tail: [row(1), row(2)] },
      { kind: "event", event: ev(41, { type: "step_started", step: 0 }) },
      { kind: "log", elapsed_ms: 42, total: 4, first: 1, tail: [row(3)] },
    ];
    applyPushed(run, batch);
    expect((run.logs as Told).told).toEqual([3, 4]);
    expect((run.logs as Told).tails).toEqual([{ first: 0, rows: [row(1), row(2)] }, { first: 1, rows: [row(3)] }]);
    expect(run.steps[0].state).toBe("running");
    expect(run.elapsedMs).toBe(42);
  });
});

describe("a remembered run", () => {
  it("shows the history's record as a finished run", () => {
    const details = {
      run: {
        seq: 4, id: "r4", project: "cities", root: "/p", image: "cities:latest", image_id: null,
        git_commit: "abc", git_branch: "main", started_at_ms: 1, duration_ms: 900, result: "failed",
        failed_step: "unit tests", message: "exit 1",
      },
      steps: [
        { index: 0, name: "build", kind: "build", status: "passed", duration_ms: 400, exit_code: null, message: null },
        { index: 1, name: "unit tests", kind: "test", status: "failed", duration_ms: 300, exit_code: 1, message: "exit 1" },
        { index: 2, name: "cleanup", kind: "cleanup", status: "pending", duration_ms: null, exit_code: null, message: null },
      ],
      logs: [],
      dropped_lines: 0,
      workflow: null,
      tests: [],
    } as unknown as RunDetails;
    const run = rememberedRun(details, { grew() {} } as unknown as LiveLog);
    expect(run.outcome).toEqual({ result: "failed", step: 1, step_name: "unit tests", message: "exit 1" });
    expect(run.steps.map((s) => s.state)).toEqual(["passed", "failed", "skipped"]);
    expect(run.durationMs).toBe(900);
    const interrupted = rememberedRun(
      { ...details, run: { ...details.run, result: "interrupted", message: null } } as RunDetails,
      { grew() {} } as unknown as LiveLog,
    );
    expect(interrupted.outcome?.result).toBe("error");
    expect(run.workflow).toBeUndefined();
  });

  it("shows a workflow run's graph as kept, its jobs' states from their steps, and its test cases", () => {
    const step = (index: number, job: string, status: string) =>
      ({ index, name: `s${index}`, kind: "test", status, duration_ms: 1, exit_code: null, message: null, job });
    const details = {
      run: {
        seq: 5, id: "r5", project: "wf", root: "/p", image: "workflow main", image_id: null,
        git_commit: "abc", git_branch: "main", started_at_ms: 1, duration_ms: 900, result: "failed",
        failed_step: "test: s1", message: "exit 1",
      },
      steps: [step(0, "build", "passed"), step(1, "test", "failed"), step(2, "lint", "pending")],
      logs: [],
      dropped_lines: 0,
      workflow: { name: "main", jobs: [
        { name: "build", requires: [], approval: false },
        { name: "test", requires: ["build"], approval: false },
        { name: "lint", requires: ["build"], approval: false },
      ] },
      tests: [{ step: 1, job: "test", case: { name: "sum", classname: "t", result: "failed", time_ms: 1, message: "boom", detail: "", file: null } }],
    } as unknown as RunDetails;
    const run = rememberedRun(details, { grew() {} } as unknown as LiveLog);
    expect(run.workflow?.jobs.map((j) => [j.name, j.state, j.requires])).toEqual([
      ["build", "passed", []], ["test", "failed", ["build"]], ["lint", "skipped", ["build"]],
    ]);
    expect(run.tests.map((t) => [t.job, t.name, t.result])).toEqual([["test", "sum", "failed"]]);
  });
});

describe("a workflow run", () => {
  it("folds its jobs, an approval and its test results, failures first", () => {
    const run = newRun("r1", new Told(10));
    applyEvent(run, ev(0, {
      type: "run_started", project: "wf", root: "/p", image: "workflow main", git: null, engine: "",
      steps: [
        { name: "Checkout code", kind: "test", job: "build" },
        { name: "unit tests", kind: "test", job: "test" },
        { name: "approve hold", kind: "approval", job: "hold" },
        { name: "cleanup", kind: "cleanup" },
      ],
      started_at_ms: 1,
      workflow: {
        name: "main",
        jobs: [
          { name: "build", requires: [], approval: false },
          { name: "test", requires: ["build"], approval: false },
          { name: "lint", requires: ["build"], approval: false },
          { name: "hold", requires: ["test", "lint"], approval: true },
        ],
      },
    }));
    expect(run.steps.map((s) => s.job)).toEqual(["build", "test", "hold", null]);
    expect(jobColumns(run.workflow!.jobs).map((c) => c.map((j) => j.name))).toEqual([["build"], ["test", "lint"], ["hold"]]);
    applyEvent(run, ev(1, { type: "job_started", job: "build" }));
    expect(run.workflow!.jobs[0].state).toBe("running");
    applyEvent(run, ev(9, { type: "job_finished", job: "build", status: "passed", duration_ms: 8, message: null }));
    applyEvent(run, ev(10, { type: "approval_waiting", job: "hold", step: 2 }));
    expect(run.workflow!.jobs.map((j) => j.state)).toEqual(["passed", "pending", "pending", "waiting"]);
    const testCase = (name: string, result: "passed" | "failed") =>
      ({ name, classname: "t", result, time_ms: 1, message: result === "failed" ? "boom" : null, detail: "", file: null });
    applyEvent(run, ev(11, { type: "test_results", step: 1, job: "test", cases: [testCase("ok", "passed"), testCase("sum", "failed")] }));
    expect(failuresFirst(run.tests).map((t) => [t.name, t.job])).toEqual([["sum", "test"], ["ok", "test"]]);
  });
});
