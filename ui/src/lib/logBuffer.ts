// A bounded log held in the page: the newest `capacity` lines, for a run
// opened from history (a live run's log stays in Rust: logSource.ts).
//
// Lines are kept as runs of lines joined with "\n" (one string per run,
// with the offsets where its lines start), and a line becomes a string of
// its own only when it is shown or searched: 100,000 lines are a few
// hundred strings for the garbage collector to trace, not 200,000 objects.

import { stripAnsi } from "./ansi";
import type { LogSource } from "./logSource";

export interface LogLine {
  /** Position since the start of the run (keeps counting past the capacity). */
  seq: number;
  step: number;
  stream: string;
  text: string;
}

interface Chunk {
  step: number;
  stream: string;
  text: string;
  /** Where each line starts in `text`. */
  starts: Uint32Array;
  /** `seq` of its first line. */
  firstSeq: number;
  /** `text` in lower case, made by the first search. */
  lower?: string;
}

export class LogBuffer implements LogSource {
  private chunks: Chunk[] = [];
  /** Index of the first chunk still held (chunks before it are dropped). */
  private head = 0;
  /** `seq` of the oldest line held. */
  private firstSeq = 0;
  private total = 0;

  constructor(readonly capacity: number) {}

  /** Lines currently held. */
  get length(): number {
    return this.total - this.firstSeq;
  }

  /** Lines ever pushed. */
  get pushed(): number {
    return this.total;
  }

  /** Lines pushed out past the capacity. */
  get dropped(): number {
    return this.firstSeq;
  }

  /** Adds one line (it holds no "\n"). */
  push(step: number, stream: string, text: string): void {
    this.append(step, stream, text, Uint32Array.of(0));
  }

  /** Adds the lines of `text`, joined with "\n". */
  pushLines(step: number, stream: string, text: string): void {
    let count = 1;
    for (let at = text.indexOf("\n"); at !== -1; at = text.indexOf("\n", at + 1)) count++;
    const starts = new Uint32Array(count);
    let line = 1;
    for (let at = text.indexOf("\n"); at !== -1; at = text.indexOf("\n", at + 1)) starts[line++] = at + 1;
    this.append(step, stream, text, starts);
  }

  /** Adds lines one by one, as runs of consecutive lines of a step and stream. */
  pushAll(lines: readonly { step: number; stream: string; line: string }[]): void {
    let from = 0;
    while (from < lines.length) {
      const { step, stream } = lines[from];
      let to = from + 1;
      while (to < lines.length && lines[to].step === step && lines[to].stream === stream) to++;
      this.pushLines(step, stream, lines.slice(from, to).map((l) => l.line).join("\n"));
      from = to;
    }
  }

  private append(step: number, stream: string, text: string, starts: Uint32Array): void {
    this.chunks.push({ step, stream, text, starts, firstSeq: this.total });
    this.total += starts.length;
    if (this.length > this.capacity) this.firstSeq = this.total - this.capacity;
    while (this.head < this.chunks.length) {
      const c = this.chunks[this.head];
      if (c.firstSeq + c.starts.length > this.firstSeq) break;
      this.head++;
    }
    // Compact now and then, not on every drop.
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  /** Index of the chunk holding line `seq` (chunks are in order), or -1. */
  private chunkOf(seq: number): number {
    let lo = this.head;
    let hi = this.chunks.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = this.chunks[mid];
      if (seq < c.firstSeq) hi = mid - 1;
      else if (seq >= c.firstSeq + c.starts.length) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  private static lineOf(c: Chunk, n: number): string {
    const end = n + 1 < c.starts.length ? c.starts[n + 1] - 1 : c.text.length;
    return c.text.slice(c.starts[n], end);
  }

  /** The i-th held line, oldest first. */
  at(i: number): LogLine | undefined {
    return i >= 0 && i < this.length ? this.slice(i, i + 1)[0] : undefined;
  }

  /** Held lines from `from` (inclusive) to `to` (exclusive). */
  slice(from: number, to: number): LogLine[] {
    const out: LogLine[] = [];
    const end = this.firstSeq + Math.min(to, this.length);
    let seq = this.firstSeq + Math.max(0, from);
    let ci = this.chunkOf(seq);
    if (ci < 0) return out;
    while (seq < end) {
      const c = this.chunks[ci];
      const n = seq - c.firstSeq;
      if (n < c.starts.length) {
        out.push({ seq, step: c.step, stream: c.stream, text: LogBuffer.lineOf(c, n) });
        seq++;
      } else {
        ci++;
      }
    }
    return out;
  }

  /** Indexes of held lines whose text contains `needle` (case-insensitive). */
  search(needle: string, strip: (s: string) => string = (s) => s): number[] {
    const q = needle.toLowerCase();
    const hits: number[] = [];
    if (!q) return hits;
    for (let ci = this.head; ci < this.chunks.length; ci++) {
      const c = this.chunks[ci];
      // Most chunks cannot match at all: one test on the whole text first.
      if (!c.text.includes("\x1b")) {
        c.lower ??= c.text.toLowerCase();
        if (!c.lower.includes(q)) continue;
      }
      const first = Math.max(0, this.firstSeq - c.firstSeq);
      for (let n = first; n < c.starts.length; n++) {
        if (strip(LogBuffer.lineOf(c, n)).toLowerCase().includes(q)) hits.push(c.firstSeq + n - this.firstSeq);
      }
    }
    return hits;
  }

  rows(from: number, to: number): LogLine[] {
    return this.slice(from, to);
  }

  find(query: string): Promise<number[]> {
    return Promise.resolve(this.search(query, stripAnsi).map((i) => i + this.firstSeq));
  }
}
