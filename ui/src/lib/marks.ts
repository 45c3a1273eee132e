// When the page reached each step of its start (ms since it started
// loading), reported with its first paint for the start-up benchmark.

const marks: [string, number][] = [];

const round = (ms: number) => Math.round(ms * 10) / 10;

export function mark(name: string): void {
  marks.push([name, round(performance.now())]);
}

/** The marks, after when the page had arrived and was parsed. */
export function startMarks(): [string, number][] {
  const page = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
  const arrived: [string, number][] = page ? [["html", round(page.responseEnd)], ["parsed", round(page.domInteractive)]] : [];
  return [...arrived, ...marks];
}
