// When the page reached each step of its start (ms since it started
// loading), reported with its first paint for the start-up benchmark.

const marks: [string, number][] = [];

export function mark(name: string): void {
  marks.push([name, Math.round(performance.now() * 10) / 10]);
}

export function startMarks(): [string, number][] {
  return marks;
}
