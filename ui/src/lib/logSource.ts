// Where the log viewer's lines come from: a buffer in the page (a run opened
// from history) or a run's live log, which stays in Rust and is read a
// window at a time (`RemoteLog`). A run that writes half a million lines a
// second then costs the page the few dozen rows it draws per frame, not the
// half million.

import type { LogLine } from "./logBuffer";

export interface LogSource {
  /** Lines that can be shown, at positions 0 to `length`. */
  readonly length: number;
  /** Lines before position 0 (kept in history only); a line's position is its `seq` minus this. */
  readonly dropped: number;
  /**
   * The lines at positions `from` to `to` that are at hand. When `follow`
   * is set the newest lines are wanted: a source that fetches returns the
   * newest it has.
   */
  rows(from: number, to: number, follow: boolean): LogLine[];
  /** `seq` of the lines containing `query`, ignoring case and colour codes. */
  find(query: string): Promise<number[]>;
}

/** What a live log is read through (the `run_log` commands, or a fake in tests). */
export interface LogFetcher {
  /** `count` lines from line `from`, or the newest `count` when `from` is null. */
  rows(from: number | null, count: number): Promise<{ total: number; first: number; rows: LogLine[] }>;
  search(query: string): Promise<number[]>;
}

/** Lines fetched beyond the visible ones, so a small scroll needs no fetch (when not following). */
const MARGIN = 60;
/** Most lines fetched at once (the command's limit is 2,000). */
const MAX_FETCH = 1_000;

/** The newest lines of a live log, sent with the news that it grew. */
export interface LogTail {
  /** Lines no longer held (before the first line kept). */
  first: number;
  /** The newest lines, oldest first. */
  rows: LogLine[];
}

/**
 * A run's live log, read a window at a time. The channel says how far the
 * log got and sends its newest rows (`grew`), which is all a followed log
 * draws. Otherwise the viewer asks for the rows it draws (`rows`), and at
 * most one fetch is in flight, started at the next frame, so a busy log
 * costs one small request per frame at most.
 */
export class RemoteLog implements LogSource {
  /** What the viewer shows: the log as of the latest fetch. */
  private total = 0;
  private first = 0;
  /** How far the log got, as the channel last said. */
  private known = 0;
  /** Consecutive lines, by `seq`. */
  private cache: LogLine[] = [];
  private want = { from: 0, to: 0, follow: true };
  private busy = false;
  private gone = false;

  constructor(
    private readonly fetcher: LogFetcher,
    /** Called when new rows are at hand; `urgent` when they are rows the view scrolled to. */
    private readonly onChange: (urgent: boolean) => void,
    private readonly nextFrame: (f: () => void) => void = (f) => requestAnimationFrame(() => f()),
  ) {}

  get length(): number {
    return this.total - this.first;
  }

  get dropped(): number {
    return this.first;
  }

  /**
   * The run has written `total` lines (the channel said so), the newest of
   * which are `tail`. A followed log that those rows fill needs no fetch.
   */
  grew(total: number, tail?: LogTail): void {
    if (total < this.known) return;
    this.known = total;
    const { from, to, follow } = this.want;
    if (!this.gone && follow && tail && tail.rows.length >= Math.min(Math.max(0, to - from), total - tail.first)) {
      this.total = total;
      this.first = tail.first;
      this.cache = tail.rows;
      this.onChange(false);
      return;
    }
    this.request();
  }

  rows(from: number, to: number, follow: boolean): LogLine[] {
    this.want = { from, to, follow };
    if (this.stale()) this.request();
    if (follow) return this.cache.slice(-Math.max(0, to - from));
    const start = this.cache.length ? this.cache[0].seq : 0;
    return this.cache.slice(Math.max(0, this.first + from - start), Math.max(0, this.first + to - start));
  }

  find(query: string): Promise<number[]> {
    return this.gone ? Promise.resolve([]) : this.fetcher.search(query);
  }

  /** Whether the view wants lines it does not have, or the log grew since. */
  private stale(): boolean {
    if (this.gone) return false;
    if (this.known > this.total) return true;
    const { from, to, follow } = this.want;
    const size = Math.min(to, this.length) - Math.max(0, from);
    if (size <= 0) return false;
    const start = this.cache.length ? this.cache[0].seq : 0;
    const end = start + this.cache.length;
    if (follow) return end < this.total || this.cache.length < size;
    return start > this.first + Math.max(0, from) || end < this.first + Math.min(to, this.length);
  }

  private request(): void {
    if (this.busy || this.gone) return;
    this.busy = true;
    this.nextFrame(() => void this.fetch());
  }

  private async fetch(): Promise<void> {
    const { from, to, follow } = this.want;
    // A followed log shows its newest rows and fetches about those (a
    // screenful at least, before the view knows its size); scrolling back
    // stops following and fetches around the new place.
    const size = Math.max(0, to - from);
    const count = Math.min(MAX_FETCH, follow ? Math.max(size, MARGIN) : size + MARGIN * 2);
    try {
      const slice = await this.fetcher.rows(follow ? null : this.first + Math.max(0, from - MARGIN), count);
      // Newer rows may have come with the channel meanwhile.
      if (slice.total >= this.total) {
        this.total = slice.total;
        this.first = slice.first;
        this.known = Math.max(this.known, slice.total);
        this.cache = slice.rows;
      }
    } catch {
      // The run's log is gone (its project ran again): keep what is shown.
      this.gone = true;
    }
    this.busy = false;
    this.onChange(!follow);
    if (this.stale()) this.request();
  }
}
