import { describe, expect, it } from "vitest";
import { applyPushEvent, emptyProgress, layerShare, tagShare } from "./push";
import type { PushEvent } from "./bindings";

const run = (events: PushEvent[]) => events.reduce(applyPushEvent, emptyProgress());

describe("push progress", () => {
  it("follows each layer of the tag being pushed", () => {
    const p = run([
      { kind: "tag", tag: "main" },
      { kind: "layer", id: "aaa", state: "preparing", current: 0, total: 0 },
      { kind: "layer", id: "bbb", state: "preparing", current: 0, total: 0 },
      { kind: "layer", id: "aaa", state: "pushing", current: 512, total: 2048 },
      { kind: "layer", id: "bbb", state: "exists", current: 0, total: 0 },
      { kind: "layer", id: "aaa", state: "pushing", current: 0, total: 0 },
    ]);
    expect(p.tag).toBe("main");
    expect(p.layers.map((l) => l.id)).toEqual(["aaa", "bbb"]);
    expect(layerShare(p.layers[0])).toBe(0.25);
    expect(layerShare(p.layers[1])).toBe(1);
    expect(tagShare(p)).toBe(0.625);
  });

  it("starts each tag afresh and keeps the pushed ones", () => {
    const p = run([
      { kind: "tag", tag: "main" },
      { kind: "layer", id: "aaa", state: "pushed", current: 10, total: 10 },
      { kind: "pushed", tag: "main", digest: "sha256:1" },
      { kind: "tag", tag: "abc1234" },
      { kind: "status", text: "Preparing" },
    ]);
    expect(p.layers).toEqual([]);
    expect(p.done).toEqual([{ tag: "main", digest: "sha256:1" }]);
    expect(p.status).toBe("Preparing");
    expect(tagShare(p)).toBe(0);
  });
});
