// Live runs, one per project folder, fed by batched events from Rust.

import { Channel } from "@tauri-apps/api/core";
import type { RunEvent } from "./ipc";
import { call, commands } from "./ipc";
import { applyEvent, newRun, type RunView } from "./runState";

class LiveRuns {
  /** The latest run of each project folder (running or finished). */
  byPath: Record<string, RunView> = $state({});
  /** Bumped on every batch, so views re-read the non-reactive log buffer. */
  version = $state(0);
  private attached = new Set<string>();

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
    const view = newRun(runId);
    this.byPath[path] = view;
    const channel = new Channel<RunEvent[]>();
    channel.onmessage = (batch) => {
      const run = this.byPath[path];
      if (!run || run.runId !== runId) return;
      for (const ev of batch) applyEvent(run, ev);
      run.receivedAt = Date.now();
      this.version++;
    };
    // The bindings type the channel with the accepting shape; Rust sends RunEvent.
    await call(commands.runAttach(runId, channel as unknown as Parameters<typeof commands.runAttach>[1]));
  }

  async cancel(path: string): Promise<void> {
    const run = this.byPath[path];
    if (run && !run.outcome) await call(commands.runCancel(run.runId));
  }
}

export const live = new LiveRuns();
