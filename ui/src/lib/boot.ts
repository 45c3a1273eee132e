// The page's first data, handed over by Rust as the page loads (see
// `boot_script` in src-tauri/src/lib.rs), so the first paint waits for no
// IPC round trip. Used once, on the window's first load: a reload asks.

import type { ProjectInfo, Settings } from "./ipc";

export interface Boot {
  at: number;
  settings: Settings;
  projects: ProjectInfo[];
}

declare global {
  interface Window {
    __SLIPWAY_BOOT__?: Boot;
  }
}

/** How old the handed-over data may be when the page starts. */
const FRESH_MS = 10_000;

/** The handed-over data, if this is the window's first load and it is fresh. */
export function takeBoot(
  w: { __SLIPWAY_BOOT__?: Boot } = window,
  navigation: string = (performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined)?.type ?? "navigate",
  now: number = Date.now(),
): Boot | undefined {
  const boot = w.__SLIPWAY_BOOT__;
  w.__SLIPWAY_BOOT__ = undefined;
  if (!boot || navigation !== "navigate" || now - boot.at > FRESH_MS) return undefined;
  return boot;
}
