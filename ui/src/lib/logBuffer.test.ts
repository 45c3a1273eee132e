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
});
