import { describe, expect, it } from "vitest";
import { parseAnsi, stripAnsi } from "./ansi";

describe("parseAnsi", () => {
  it("keeps plain text as one segment", () => {
    expect(parseAnsi("hello")).toEqual([{ text: "hello" }]);
  });

  it("applies and resets colours", () => {
    const segs = parseAnsi("a\x1b[31;1mred\x1b[0m b");
    expect(segs).toEqual([
      { text: "a" },
      { text: "red", fg: "var(--ansi-red)", bold: true },
      { text: " b" },
    ]);
  });

  it("understands 256 and true colour", () => {
    expect(parseAnsi("\x1b[38;5;196mx")[0].fg).toBe("rgb(255,0,0)");
    expect(parseAnsi("\x1b[48;2;1;2;3mx")[0].bg).toBe("rgb(1,2,3)");
  });

  it("drops other escapes", () => {
    expect(stripAnsi("\x1b[2K\x1b[1Gdone\x1b]0;title\x07")).toBe("done");
  });
});
