import { describe, expect, it } from "vitest";
import { LogBuffer, type LogLine } from "./logBuffer";
import { RemoteLog, type LogFetcher } from "./logSource";

/** A run's log on the Rust side: the newest `capacity` lines, counted fetches. */
class FakeRun implements LogFetcher {
  lines: LogLine[] = [];
  total = 0;
  asked: (number | null)[] = [];
  counts: number[] = [];
  failing = false;

  constructor(readonly capacity: number) {}

  write(n: number) {
    for (let i = 0; i < n; i++) this.lines.push({ seq: this.total++, step: 1, stream: "stdout", text: `line ${this.total - 1}` });
    this.lines = this.lines.slice(-this.capacity);
  }

  get first() {
    return this.total - this.lines.length;
  }

  async rows(from: number | null, count: number) {
    this.asked.push(from);
    this.counts.push(count);
    if (this.failing) throw new Error("run r1 has no live log");
    const start = from === null ? Math.max(this.first, this.total - count) : Math.max(from, this.first);
    return { total: this.total, first: this.first, rows: this.lines.slice(start - this.first, start - this.first + count) };
  }

  async search(query: string) {
    return this.lines.filter((l) => l.text.includes(query)).map((l) => l.seq);
  }
}

function setup(capacity = 1_000) {
  const run = new FakeRun(capacity);
  const frames: (() => void)[] = [];
  let changes = 0;
  const urgent: boolean[] = [];
  const log = new RemoteLog(
    run,
    (u) => {
      changes++;
      urgent.push(u);
    },
    (f) => frames.push(f),
  );
  /** Runs the next frame's work and waits for the fetch it starts. */
  const frame = async () => {
    const queued = frames.splice(0);
    queued.forEach((f) => f());
    await new Promise((r) => setTimeout(r, 0));
  };
  return { run, log, frame, frames, changes: () => changes, urgent, pending: () => frames.length };
}

describe("RemoteLog", () => {
  it("fetches the newest rows once per frame however often the log grows", async () => {
    const { run, log, frame, changes, urgent, pending } = setup();
    expect(log.rows(0, 40, true)).toEqual([]);
    run.write(300);
    log.grew(100);
    log.grew(300);
    expect(pending()).toBe(1);
    await frame();
    expect(run.asked).toEqual([null]);
    // Following, it asks for about the rows it draws (a screenful at least).
    expect(run.counts).toEqual([60]);
    expect(changes()).toBe(1);
    // A followed log's new rows can wait for the next paced frame.
    expect(urgent).toEqual([false]);
    expect(log.length).toBe(300);
    const shown = log.rows(260, 300, true);
    expect(shown.map((l) => l.seq)).toEqual(Array.from({ length: 40 }, (_, i) => 260 + i));
    expect(pending()).toBe(0);
  });

  it("draws a followed log from the rows sent with the news that it grew, with no fetch", async () => {
    const { run, log, frame, urgent, pending } = setup();
    log.rows(0, 40, true);
    run.write(500);
    log.grew(500, { first: run.first, rows: run.lines.slice(-100) });
    expect(pending()).toBe(0);
    expect(urgent).toEqual([false]);
    expect(log.length).toBe(500);
    expect(log.rows(460, 500, true).map((l) => l.seq)).toEqual(Array.from({ length: 40 }, (_, i) => 460 + i));
    expect(pending()).toBe(0);
    // Too few rows for the view (long lines): it fetches them.
    run.write(10);
    log.grew(510, { first: run.first, rows: run.lines.slice(-5) });
    expect(pending()).toBe(1);
    await frame();
    expect(run.asked).toEqual([null]);
    expect(log.rows(470, 510, true).at(-1)?.seq).toBe(509);
  });

  it("never goes back to an older answer that arrives after newer rows were sent", async () => {
    const { run, log, pending, frames } = setup();
    log.rows(0, 40, true);
    run.write(100);
    log.grew(100, { first: 0, rows: run.lines.slice(-5) });
    expect(pending()).toBe(1);
    // The fetch starts (and is answered as of line 100)...
    frames.splice(0).forEach((f) => f());
    // ...then newer rows come with the channel before the answer lands.
    run.write(50);
    log.grew(150, { first: 0, rows: run.lines.slice(-100) });
    await new Promise((r) => setTimeout(r, 0));
    expect(log.length).toBe(150);
    expect(log.rows(110, 150, true).at(-1)?.seq).toBe(149);
  });

  it("scrolled back, it fetches what it draws and leaves the rows sent to a followed log", async () => {
    const { run, log, frame, pending } = setup(2_000);
    run.write(1_000);
    log.grew(1_000, { first: 0, rows: run.lines.slice(-100) });
    log.rows(100, 140, false);
    run.write(10);
    log.grew(1_010, { first: 0, rows: run.lines.slice(-100) });
    expect(pending()).toBe(1);
    await frame();
    expect(run.asked).toEqual([40]);
    expect(log.rows(100, 140, false).map((l) => l.seq)).toEqual(Array.from({ length: 40 }, (_, i) => 100 + i));
  });

  it("keeps showing the last rows it has while newer ones are fetched", async () => {
    const { run, log, frame } = setup();
    run.write(100);
    log.grew(100);
    await frame();
    log.rows(60, 100, true);
    run.write(50);
    log.grew(150);
    // Until the next frame's fetch answers, the view draws what it has.
    expect(log.length).toBe(100);
    expect(log.rows(60, 100, true).at(-1)?.seq).toBe(99);
    await frame();
    expect(log.length).toBe(150);
    expect(log.rows(110, 150, true).at(-1)?.seq).toBe(149);
  });

  it("fetches a window with a margin when the view is scrolled back", async () => {
    const { run, log, frame, urgent, pending } = setup();
    run.write(1_000);
    log.grew(1_000);
    await frame();
    expect(log.rows(500, 540, false)).toEqual([]);
    await frame();
    // Rows the view scrolled to are wanted at once.
    expect(urgent.at(-1)).toBe(true);
    expect(run.asked.at(-1)).toBe(440);
    expect(run.counts.at(-1)).toBe(160);
    expect(log.rows(500, 540, false).map((l) => l.seq)).toEqual(Array.from({ length: 40 }, (_, i) => 500 + i));
    // A small scroll stays within what was fetched.
    expect(log.rows(520, 560, false).map((l) => l.text)).toContain("line 559");
    expect(pending()).toBe(0);
  });

  it("places rows by their number once older lines are dropped", async () => {
    const { run, log, frame } = setup(200);
    run.write(1_000);
    log.grew(1_000);
    await frame();
    expect(log.dropped).toBe(800);
    expect(log.length).toBe(200);
    log.rows(0, 20, false);
    await frame();
    expect(run.asked.at(-1)).toBe(800);
    expect(log.rows(0, 20, false).map((l) => l.seq - log.dropped)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("keeps what it shows when the run's log is gone, and stops asking", async () => {
    const { run, log, frame, pending } = setup();
    run.write(10);
    log.grew(10);
    await frame();
    run.failing = true;
    run.write(10);
    log.grew(20);
    await frame();
    expect(log.length).toBe(10);
    expect(log.rows(0, 10, true).length).toBe(10);
    log.grew(30);
    expect(pending()).toBe(0);
    expect(await log.find("line")).toEqual([]);
  });

  it("searches where the lines are", async () => {
    const { run, log } = setup(100);
    run.write(250);
    expect(await log.find("line 24")).toEqual([240, 241, 242, 243, 244, 245, 246, 247, 248, 249]);
  });
});

describe("LogBuffer as a log source", () => {
  it("finds lines by their number, past the dropped ones", async () => {
    const b = new LogBuffer(3);
    b.pushLines(0, "stdout", "Seattle\nLisbon\n\x1b[31mSEAT\x1b[0mTLE\nOslo");
    expect(b.dropped).toBe(1);
    expect(await b.find("seattle")).toEqual([2]);
    expect(b.rows(0, 2).map((l) => l.text)).toEqual(["Lisbon", "\x1b[31mSEAT\x1b[0mTLE"]);
  });
});
