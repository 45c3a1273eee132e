// Applies the theme setting: "system" follows prefers-color-scheme.

import type { Theme } from "./ipc";

export function applyTheme(theme: Theme): void {
  const root = document.documentElement;
  if (theme === "system") delete root.dataset.theme;
  else root.dataset.theme = theme;
}
