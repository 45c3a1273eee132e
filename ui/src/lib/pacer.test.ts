import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Pacer } from "./pacer";

function setup() {
  const frames: (() => void)[] = [];
  const draws: number[] = [];
  let running = false;
  const pacer = new Pacer(
    () => draws.push(Date.now()),
    () => running,
    100,
    () => Date.now(),
    (f) => frames.push(f),
  );
  /** Runs the frame queued, if any. */
  const frame = () => frames.splice(0).forEach((f) => f());
  return { pacer, draws, frame, frames, run: (on: boolean) => (running = on) };
}

describe("Pacer", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(10_000);
  });
  afterEach(() => vi.useRealTimers());

  it("draws the first change at the next frame, and a flood of changes ten times a second", () => {
    const { pacer, draws, frame, frames } = setup();
    pacer.changed();
    expect(frames.length).toBe(1);
    frame();
    expect(draws).toEqual([10_000]);
    for (let t = 0; t < 500; t += 5) {
      pacer.changed();
      vi.advanceTimersByTime(5);
      frame();
    }
    // 500 ms of changes every 5 ms: one draw per 100 ms.
    expect(draws).toEqual([10_000, 10_100, 10_200, 10_300, 10_400, 10_500]);
  });

  it("draws changes the user waits for at the next frame", () => {
    const { pacer, draws, frame } = setup();
    pacer.changed();
    frame();
    vi.advanceTimersByTime(10);
    pacer.changed();
    pacer.changed(true);
    frame();
    expect(draws).toEqual([10_000, 10_010]);
    // The pending paced draw was taken by the urgent one.
    vi.advanceTimersByTime(200);
    frame();
    expect(draws).toEqual([10_000, 10_010]);
  });

  it("ticks every 100 ms while a clock runs, with no change, and stops with it", () => {
    const { pacer, draws, frame, run } = setup();
    run(true);
    pacer.tick();
    frame();
    for (let i = 0; i < 3; i++) {
      vi.advanceTimersByTime(100);
      frame();
    }
    expect(draws).toEqual([10_000, 10_100, 10_200, 10_300]);
    run(false);
    pacer.changed();
    vi.advanceTimersByTime(100);
    frame();
    // The change that ended the clock is drawn, then nothing more.
    expect(draws.length).toBe(5);
    vi.advanceTimersByTime(1_000);
    frame();
    expect(draws.length).toBe(5);
  });
});
