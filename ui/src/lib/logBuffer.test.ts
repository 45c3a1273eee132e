import { describe, expect, it } from "vitest";
import { LogBuffer } from "./logBuffer";

describe("LogBuffer", () => {
  it("keeps lines in order until full", () => {
    const b = new LogBuffer(3);
    b.push(0, "build", "a");
    b.push(0, "build", "b");
    expect(b.slice(0, 10).map((l) => l.text)).toEqual(["a", "b"]);
  });

  it("drops the oldest lines past its capacity", () => {
    const b = new LogBuffer(1000);
    for (let i = 0; i < 1_000_000; i++) b.push(0, "stdout", `line ${i}`);
    expect(b.length).toBe(1000);
    expect(b.dropped).toBe(999_000);
    expect(b.at(0)?.text).toBe("line 999000");
    expect(b.at(999)?.seq).toBe(999_999);
  });

  it("searches case-insensitively", () => {
    const b = new LogBuffer(10);
    b.push(0, "stdout", "Seattle");
    b.push(0, "stdout", "Lisbon");
    b.push(1, "stdout", "seattle again");
    expect(b.search("SEATTLE")).toEqual([0, 2]);
    expect(b.search("")).toEqual([]);
  });

  it("keeps runs of lines as they came and reads any line out of them", () => {
    const b = new LogBuffer(100);
    b.pushLines(0, "build", "a\n\nc");
    b.push(0, "stderr", "d");
    b.pushLines(1, "stdout", "e\nf\n");
    b.pushLines(1, "stdout", "");
    expect(b.length).toBe(8);
    expect(b.slice(0, 100).map((l) => [l.seq, l.step, l.stream, l.text])).toEqual([
      [0, 0, "build", "a"], [1, 0, "build", ""], [2, 0, "build", "c"], [3, 0, "stderr", "d"],
      [4, 1, "stdout", "e"], [5, 1, "stdout", "f"], [6, 1, "stdout", ""], [7, 1, "stdout", ""],
    ]);
    expect(b.slice(2, 5).map((l) => l.text)).toEqual(["c", "d", "e"]);
    expect(b.at(5)?.text).toBe("f");
    expect(b.at(8)).toBeUndefined();
    expect(b.at(-1)).toBeUndefined();
  });

  it("drops the oldest lines of a run when full, however the runs fall", () => {
    const b = new LogBuffer(1000);
    let seq = 0;
    for (let batch = 0; batch < 3000; batch++) {
      const size = 1 + (batch % 7) * 97; // runs of 1 to 583 lines
      const lines = Array.from({ length: size }, () => `line ${seq++}`);
      b.pushLines(batch % 3, "stdout", lines.join("\n"));
    }
    expect(b.pushed).toBe(seq);
    expect(b.length).toBe(1000);
    expect(b.dropped).toBe(seq - 1000);
    expect(b.at(0)).toMatchObject({ seq: seq - 1000, text: `line ${seq - 1000}` });
    expect(b.at(999)).toMatchObject({ seq: seq - 1, text: `line ${seq - 1}` });
    const all = b.slice(0, 1000);
    expect(all.length).toBe(1000);
    expect(all.every((l, i) => l.text === `line ${seq - 1000 + i}` && l.seq === seq - 1000 + i)).toBe(true);
  });

  it("searches held lines only, across runs and through colours", () => {
    const b = new LogBuffer(4);
    b.pushLines(0, "stdout", "Seattle\nLisbon");
    b.pushLines(0, "stdout", "Oslo\n\x1b[31mSEAT\x1b[0mTLE\nseattle again");
    // "Seattle" (the first line) is no longer held.
    const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");
    expect(b.search("seattle", strip)).toEqual([2, 3]);
    expect(b.search("paris", strip)).toEqual([]);
    expect(b.at(0)?.text).toBe("Lisbon");
  });

  it("takes a stored log line by line, grouped into runs", () => {
    const b = new LogBuffer(10);
    b.pushAll([
      { step: 0, stream: "build", line: "a" },
      { step: 0, stream: "build", line: "b" },
      { step: 1, stream: "stdout", line: "c" },
      { step: 1, stream: "stderr", line: "" },
      { step: 1, stream: "stderr", line: "e" },
    ]);
    expect(b.slice(0, 10).map((l) => [l.seq, l.step, l.stream, l.text])).toEqual([
      [0, 0, "build", "a"], [1, 0, "build", "b"], [2, 1, "stdout", "c"], [3, 1, "stderr", ""], [4, 1, "stderr", "e"],
    ]);
    b.pushAll([]);
    expect(b.length).toBe(5);
  });
});
