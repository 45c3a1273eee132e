import { describe, expect, it } from "vitest";
import type { LogLine } from "./logBuffer";
import { StepLog } from "./stepLog";

const line = (seq: number, text: string): LogLine => ({ seq, step: 3, stream: "container", text });

describe("one step's log", () => {
  it("numbers the step's lines from 0, searches them, and reads again no more than twice a second", async () => {
    let reads = 0;
    let changes = 0;
    let served = [line(40, "db starting"), line(97, "db ready")];
    const log = new StepLog(async () => {
      reads++;
      return served;
    }, () => changes++);
    let now = 1_000;
    await log.refresh(false, () => now);
    expect([log.length, log.dropped, reads, changes]).toEqual([2, 0, 1, 1]);
    expect(log.rows(0, 5).map((l) => [l.seq, l.text])).toEqual([[0, "db starting"], [1, "db ready"]]);
    expect(await log.find("READY")).toEqual([1]);
    served = [...served, line(120, "db accepting")];
    now += 100;
    await log.refresh(false, () => now);
    expect(reads).toBe(1);
    await log.refresh(true, () => now);
    expect([reads, log.length]).toEqual([2, 3]);
  });
});
