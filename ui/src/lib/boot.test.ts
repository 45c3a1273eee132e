import { describe, expect, it } from "vitest";
import { takeBoot, type Boot } from "./boot";

const boot = (at: number): Boot => ({
  at,
  settings: { keep_in_tray: true, notifications: true, theme: "system", preflight: true, publish_preflight: false, start_at_login: false },
  projects: [],
});

describe("takeBoot", () => {
  it("hands over fresh data once, on the first load", () => {
    const w = { __SLIPWAY_BOOT__: boot(1_000) };
    expect(takeBoot(w, "navigate", 1_500)?.at).toBe(1_000);
    expect(takeBoot(w, "navigate", 1_500)).toBeUndefined();
  });

  it("asks again after a reload or when the data is old", () => {
    expect(takeBoot({ __SLIPWAY_BOOT__: boot(1_000) }, "reload", 1_500)).toBeUndefined();
    expect(takeBoot({ __SLIPWAY_BOOT__: boot(1_000) }, "navigate", 20_000)).toBeUndefined();
    expect(takeBoot({}, "navigate", 1_500)).toBeUndefined();
  });
});
