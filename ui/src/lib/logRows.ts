// The rows of the log viewer, drawn without a framework: a fixed pool of
// elements, one per visible line, reused as the view scrolls or follows. A
// followed log that grows by thousands of lines a frame then changes a
// hundred text nodes per frame instead of building and dropping a hundred
// components with their effects (garbage that cost long pauses).

import { parseAnsi } from "./ansi";
import type { LogLine } from "./logBuffer";

interface Row {
  el: HTMLElement;
  top: number;
  cls: string;
  title: string;
  text: string;
}

/** Draws lines into the children of `host`, each `rowHeight` pixels tall. */
export class LogRows {
  private rows: Row[] = [];

  constructor(
    readonly host: HTMLElement,
    private readonly rowHeight: number,
  ) {}

  /**
   * Shows `lines`, each at its position (`seq` minus `offset`, the lines
   * before the first shown); the line whose `seq` is `hit` (or none, for -1)
   * is marked as the current search match.
   */
  render(lines: LogLine[], offset: number, hit: number, stepNames: readonly string[]): void {
    while (this.rows.length < lines.length) {
      const el = this.host.ownerDocument.createElement("div");
      this.host.appendChild(el);
      this.rows.push({ el, top: -1, cls: "", title: "", text: "" });
    }
    for (let i = 0; i < this.rows.length; i++) {
      const row = this.rows[i];
      const line = lines[i];
      if (!line) {
        row.el.hidden = true;
        continue;
      }
      row.el.hidden = false;
      const top = (line.seq - offset) * this.rowHeight;
      if (row.top !== top) {
        row.el.style.top = `${top}px`;
        row.top = top;
      }
      const cls = line.seq === hit ? `row ${line.stream} hit` : `row ${line.stream}`;
      if (row.cls !== cls) {
        row.el.className = cls;
        row.cls = cls;
      }
      const title = stepNames[line.step] ?? "";
      if (row.title !== title) {
        row.el.title = title;
        row.title = title;
      }
      if (row.text !== line.text) {
        fill(row.el, line.text);
        row.text = line.text;
      }
    }
  }
}

/**
 * Puts a line's text in `el`, with a span per styled segment when it has
 * escape codes. A plain line replaces the text of the row's one text node:
 * the engine then re-lays out that text, rather than dropping the row's
 * content and building it again (a followed log changes every row a frame).
 */
function fill(el: HTMLElement, text: string): void {
  if (!text.includes("\x1b")) {
    const only = el.firstChild;
    if (only && only === el.lastChild && only.nodeType === Node.TEXT_NODE) (only as Text).data = text;
    else el.textContent = text;
    return;
  }
  const doc = el.ownerDocument;
  el.replaceChildren(
    ...parseAnsi(text).map((seg) => {
      const span = doc.createElement("span");
      span.textContent = seg.text;
      if (seg.fg) span.style.color = seg.fg;
      if (seg.bg) span.style.background = seg.bg;
      const cls = [seg.bold && "b", seg.dim && "d", seg.italic && "i", seg.underline && "u"].filter(Boolean).join(" ");
      if (cls) span.className = cls;
      return span;
    }),
  );
}
