// One step's lines (a service's output) as a log of its own: read from
// Rust for a live run (`run_step_log`), or picked out of a remembered run's
// buffer, and numbered from 0 so the viewer scrolls and searches it as any log.

import type { LogLine } from "./logBuffer";
import type { LogSource } from "./logSource";

/** How often a followed step's lines are read again while the run goes. */
export const STEP_LOG_EVERY_MS = 500;

export class StepLog implements LogSource {
  private lines: LogLine[] = [];
  private busy = false;
  private readAt = -Infinity;

  constructor(
    private readonly fetch: () => Promise<LogLine[]>,
    private readonly onChange: () => void,
  ) {}

  get length(): number {
    return this.lines.length;
  }

  get dropped(): number {
    return 0;
  }

  rows(from: number, to: number): LogLine[] {
    return this.lines.slice(from, to);
  }

  async find(query: string): Promise<number[]> {
    const q = query.toLowerCase();
    return this.lines.filter((l) => l.text.toLowerCase().includes(q)).map((l) => l.seq);
  }

  /** Reads the step's lines again: at most one read at a time, and not
   * twice within `STEP_LOG_EVERY_MS` unless `now` is set. */
  async refresh(now = false, clock: () => number = Date.now): Promise<void> {
    if (this.busy || (!now && clock() - this.readAt < STEP_LOG_EVERY_MS)) return;
    this.busy = true;
    this.readAt = clock();
    try {
      const rows = await this.fetch();
      this.lines = rows.map((r, i) => ({ ...r, seq: i }));
      this.onChange();
    } finally {
      this.busy = false;
    }
  }
}
