// Live runs, one per project folder, fed by batched events from Rust.
//
// Runs are folded into plain objects outside Svelte's deep reactivity (a
// busy run sends thousands of events a second); views re-read them through
// `view()`, which depends on `version`, bumped by a `Pacer`: at most ten
// times a second, together with the running steps' clocks.

import { Channel } from "@tauri-apps/api/core";
import { call, commands, type Pushed, type RunDetails } from "./ipc";
import { LogBuffer } from "./logBuffer";
import { RemoteLog } from "./logSource";
import { Pacer } from "./pacer";
import { applyPushed, newRun, rememberedRun, type RunView } from "./runState";

class LiveRuns {
  /** The latest run of each project folder (running or finished). */
  private byPath: Record<string, RunView> = $state.raw({});
  /** Bumped when any run changed, and every 100 ms while one is going (its clock). */
  version = $state(0);
  private attached = new Set<string>();
  private pacer = new Pacer(
    () => this.version++,
    () => Object.values(this.byPath).some((run) => !run.outcome),
  );

  /** A snapshot of a project's latest run, for rendering. */
  view(path: string): RunView | undefined {
    void this.version;
    const run = this.byPath[path];
    if (!run) return undefined;
    return {
      ...run,
      steps: run.steps.map((s) => ({ ...s, build: s.build.map((b) => ({ ...b })) })),
      workflow: run.workflow && { ...run.workflow, jobs: run.workflow.jobs.map((j) => ({ ...j })) },
      tests: [...run.tests],
    };
  }

  /** How a project's latest run ended: a result, `running`, or undefined. */
  state(path: string): string | undefined {
    void this.version;
    const run = this.byPath[path];
    if (!run) return undefined;
    return run.outcome ? run.outcome.result : "running";
  }

  isRunning(path: string): boolean {
    const run = this.byPath[path];
    return !!run && !run.outcome;
  }

  /** Starts a run of the project at `path` and follows it. */
  async start(path: string): Promise<void> {
    const runId = await call(commands.runStart(path));
    await this.follow(path, runId);
  }

  /** Follows a run already in progress (started here, from the tray, or before a reload). */
  async follow(path: string, runId: string): Promise<void> {
    if (this.attached.has(runId)) return;
    this.attached.add(runId);
    const logs = new RemoteLog(
      {
        rows: (from, count) => call(commands.runLog(runId, from, count)),
        search: (query) => call(commands.runLogSearch(runId, query)),
      },
      (urgent) => this.pacer.changed(urgent),
    );
    const run = newRun(runId, logs);
    this.byPath = { ...this.byPath, [path]: run };
    this.version++;
    this.pacer.tick();
    const channel = new Channel<Pushed[]>();
    channel.onmessage = (batch) => {
      if (this.byPath[path] !== run) return;
      applyPushed(run, batch);
      run.receivedAt = Date.now();
      this.pacer.changed();
    };
    // The bindings type the channel with the accepting shape; Rust sends Pushed.
    await call(commands.runAttach(runId, channel as unknown as Parameters<typeof commands.runAttach>[1]));
  }

  /** Shows a project's last run from the history (after a restart), unless a run is here already. */
  remember(path: string, details: RunDetails): void {
    if (this.byPath[path]) return;
    const buffer = new LogBuffer(Math.max(1, details.logs.length));
    buffer.pushAll(details.logs);
    const logs = Object.assign(buffer, { grew() {} });
    this.byPath = { ...this.byPath, [path]: rememberedRun(details, logs) };
    this.version++;
  }

  /** Answers a workflow run's approval job. */
  async approve(path: string, job: string, approved: boolean): Promise<void> {
    const run = this.byPath[path];
    if (run && !run.outcome) await call(commands.runApprove(run.runId, job, approved));
  }

  async cancel(path: string): Promise<void> {
    const run = this.byPath[path];
    if (run && !run.outcome) await call(commands.runCancel(run.runId));
  }
}

export const live = new LiveRuns();
