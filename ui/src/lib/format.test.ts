import { describe, expect, it } from "vitest";
import { ago, bytes, duration } from "./format";

describe("format", () => {
  it("formats durations like the CLI", () => {
    expect(duration(850)).toBe("850ms");
    expect(duration(3240)).toBe("3.2s");
    expect(duration(125_000)).toBe("2m05s");
    expect(duration(undefined)).toBe("");
  });
  it("formats ages and sizes", () => {
    expect(ago(0, 90_000)).toBe("1m ago");
    expect(bytes(1536)).toBe("1.5 KiB");
  });
});
