// A bounded log: the newest `capacity` lines, in a ring. The full log is in
// the run history; the viewer keeps memory flat however long a run writes.

export interface LogLine {
  /** Position since the start of the run (keeps counting past the ring). */
  seq: number;
  step: number;
  stream: string;
  text: string;
}

export class LogBuffer {
  private ring: (LogLine | undefined)[];
  private start = 0;
  private count = 0;
  private total = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array(capacity);
  }

  /** Lines currently held. */
  get length(): number {
    return this.count;
  }

  /** Lines ever pushed. */
  get pushed(): number {
    return this.total;
  }

  /** Lines pushed out of the ring. */
  get dropped(): number {
    return this.total - this.count;
  }

  push(step: number, stream: string, text: string): void {
    const line: LogLine = { seq: this.total++, step, stream, text };
    if (this.count < this.capacity) {
      this.ring[(this.start + this.count) % this.capacity] = line;
      this.count++;
    } else {
      this.ring[this.start] = line;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** The i-th held line, oldest first. */
  at(i: number): LogLine | undefined {
    if (i < 0 || i >= this.count) return undefined;
    return this.ring[(this.start + i) % this.capacity];
  }

  /** Held lines from `from` (inclusive) to `to` (exclusive). */
  slice(from: number, to: number): LogLine[] {
    const out: LogLine[] = [];
    for (let i = Math.max(0, from); i < Math.min(to, this.count); i++) {
      const line = this.at(i);
      if (line) out.push(line);
    }
    return out;
  }

  /** Indexes of held lines whose text contains `needle` (case-insensitive). */
  search(needle: string, strip: (s: string) => string = (s) => s): number[] {
    const q = needle.toLowerCase();
    const hits: number[] = [];
    if (!q) return hits;
    for (let i = 0; i < this.count; i++) {
      const line = this.at(i);
      if (line && strip(line.text).toLowerCase().includes(q)) hits.push(i);
    }
    return hits;
  }

  clear(): void {
    this.ring = new Array(this.capacity);
    this.start = 0;
    this.count = 0;
    this.total = 0;
  }
}
