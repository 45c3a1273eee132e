// ANSI SGR colour codes to styled segments, for the log viewer. Other
// escape sequences (cursor moves, titles) are dropped.

export interface Segment {
  text: string;
  fg?: string;
  bg?: string;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
}

const BASIC = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"];

function palette(n: number): string {
  if (n < 8) return `var(--ansi-${BASIC[n]})`;
  if (n < 16) return `var(--ansi-bright-${BASIC[n - 8]})`;
  if (n < 232) {
    const i = n - 16;
    const level = (v: number) => (v === 0 ? 0 : 55 + v * 40);
    return `rgb(${level(Math.floor(i / 36))},${level(Math.floor(i / 6) % 6)},${level(i % 6)})`;
  }
  const grey = 8 + (n - 232) * 10;
  return `rgb(${grey},${grey},${grey})`;
}

type Style = Omit<Segment, "text">;

function applyCodes(style: Style, codes: number[]): Style {
  const s: Style = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c === 0) {
      for (const key of Object.keys(s) as (keyof Style)[]) delete s[key];
    } else if (c === 1) s.bold = true;
    else if (c === 2) s.dim = true;
    else if (c === 3) s.italic = true;
    else if (c === 4) s.underline = true;
    else if (c === 22) {
      delete s.bold;
      delete s.dim;
    } else if (c === 23) delete s.italic;
    else if (c === 24) delete s.underline;
    else if (c >= 30 && c <= 37) s.fg = palette(c - 30);
    else if (c >= 90 && c <= 97) s.fg = palette(c - 90 + 8);
    else if (c === 39) delete s.fg;
    else if (c >= 40 && c <= 47) s.bg = palette(c - 40);
    else if (c >= 100 && c <= 107) s.bg = palette(c - 100 + 8);
    else if (c === 49) delete s.bg;
    else if ((c === 38 || c === 48) && codes[i + 1] === 5 && i + 2 < codes.length) {
      const color = palette(codes[i + 2] & 255);
      if (c === 38) s.fg = color;
      else s.bg = color;
      i += 2;
    } else if ((c === 38 || c === 48) && codes[i + 1] === 2 && i + 4 < codes.length) {
      const color = `rgb(${codes[i + 2]},${codes[i + 3]},${codes[i + 4]})`;
      if (c === 38) s.fg = color;
      else s.bg = color;
      i += 4;
    }
  }
  return s;
}

// eslint-disable-next-line no-control-regex
const ESCAPE = /\x1b\[([0-9;?]*)([A-Za-z])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Za-z0-9]/g;

/** Splits a line into styled segments. */
export function parseAnsi(line: string): Segment[] {
  const out: Segment[] = [];
  let style: Style = {};
  let last = 0;
  for (const match of line.matchAll(ESCAPE)) {
    const index = match.index ?? 0;
    if (index > last) out.push({ text: line.slice(last, index), ...style });
    if (match[2] === "m") {
      const codes = (match[1] || "0").split(";").map((n) => (n === "" ? 0 : Number(n)));
      style = applyCodes(style, codes);
    }
    last = index + match[0].length;
  }
  if (last < line.length) out.push({ text: line.slice(last), ...style });
  return out;
}

/** The text of a line without escape sequences (for search). */
export function stripAnsi(line: string): string {
  return line.replace(ESCAPE, "");
}
