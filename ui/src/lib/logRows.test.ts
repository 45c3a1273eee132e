// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { LogLine } from "./logBuffer";
import { LogRows } from "./logRows";

const lines = (from: number, n: number, text = (i: number) => `line ${i}`): LogLine[] =>
  Array.from({ length: n }, (_, k) => ({ seq: from + k, step: (from + k) % 2, stream: "stdout", text: text(from + k) }));

function setup() {
  const host = document.createElement("div");
  document.body.appendChild(host);
  return { host, rows: new LogRows(host, 18) };
}

describe("LogRows", () => {
  it("draws each line at its position with its step as the title", () => {
    const { host, rows } = setup();
    rows.render(lines(40, 3), 0, -1, ["build", "unit tests"]);
    const els = [...host.children] as HTMLElement[];
    expect(els.map((e) => e.textContent)).toEqual(["line 40", "line 41", "line 42"]);
    expect(els.map((e) => e.style.top)).toEqual(["720px", "738px", "756px"]);
    expect(els.map((e) => e.title)).toEqual(["build", "unit tests", "build"]);
    expect(els[0].className).toBe("row stdout");
  });

  it("places lines by their number less the lines dropped before the first shown", () => {
    const { host, rows } = setup();
    rows.render(lines(1_040, 2), 1_000, 1_041, []);
    const els = [...host.children] as HTMLElement[];
    expect(els.map((e) => e.style.top)).toEqual(["720px", "738px"]);
    expect(els.map((e) => e.className)).toEqual(["row stdout", "row stdout hit"]);
  });

  it("reuses its elements as a followed log moves on, hiding the spare ones", () => {
    const { host, rows } = setup();
    rows.render(lines(0, 4), 0, -1, []);
    const before = [...host.children];
    rows.render(lines(100, 2), 0, 101, []);
    expect([...host.children]).toEqual(before);
    const els = before as HTMLElement[];
    expect(els.map((e) => (e.hidden ? null : e.textContent))).toEqual(["line 100", "line 101", null, null]);
    // A plain line's text replaces the row's text, in the same node.
    const text = els[0].firstChild;
    rows.render(lines(200, 1), 0, -1, []);
    expect(els[0].firstChild).toBe(text);
    expect(els[0].textContent).toBe("line 200");
    expect(els[1].className).toBe("row stdout hit");
    expect(els[0].className).toBe("row stdout");
  });

  it("turns escape codes into styled spans and plain text back into text", () => {
    const { host, rows } = setup();
    rows.render(lines(0, 1, () => "\x1b[1;31merror\x1b[0m: boom"), 0, -1, []);
    const row = host.children[0] as HTMLElement;
    const spans = [...row.querySelectorAll("span")];
    expect(spans.map((s) => s.textContent)).toEqual(["error", ": boom"]);
    expect(spans[0].className).toBe("b");
    expect(spans[0].style.color).toBe("var(--ansi-red)");
    expect(row.textContent).toBe("error: boom");
    rows.render(lines(0, 1, () => "<b>not markup</b>"), 0, -1, []);
    expect(row.querySelectorAll("span, b").length).toBe(0);
    expect(row.textContent).toBe("<b>not markup</b>");
  });
});
