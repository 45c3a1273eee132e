// Applies the theme setting ("system" follows prefers-color-scheme) and
// tells the style sheet which desktop it is on, for its font choice.

import type { Theme } from "./ipc";

export function applyTheme(theme: Theme): void {
  const root = document.documentElement;
  if (theme === "system") delete root.dataset.theme;
  else root.dataset.theme = theme;
}

export type Desktop = "macos" | "windows" | "linux";

/** The desktop a web view's user agent string belongs to. */
export function desktopOf(userAgent: string): Desktop {
  if (/Macintosh|Mac OS X/.test(userAgent)) return "macos";
  if (/Windows/.test(userAgent)) return "windows";
  return "linux";
}

/**
 * Marks the page with its desktop before the first layout. app.css names
 * system fonts on macOS and Windows only: on Linux every family WebKitGTK
 * cannot find costs fontconfig lookups at the first layout (20 to 40 ms
 * each, measured), and the generic families already follow the user's
 * fontconfig choice.
 */
export function markDesktop(root: HTMLElement = document.documentElement): void {
  root.dataset.desktop = desktopOf(navigator.userAgent);
}
