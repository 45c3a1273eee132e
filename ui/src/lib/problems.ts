// What a problem lets the user do next, decided by its code (never by its words).

import type { ErrorCode, Remedy } from "./bindings";

/** The action a problem's banner offers. */
export type ProblemAction = "sign_in" | "serve_git" | "retry" | "push_anyway" | null;

/**
 * Sign in again for a refused or expired login; let git use the GitHub
 * sign-in when git had no credentials; retry for a service or engine that
 * may come back; push anyway after a red preflight run.
 */
export function actionFor(code: ErrorCode, remedy: Remedy | null = null): ProblemAction {
  if (remedy?.kind === "sign_in") return "sign_in";
  if (remedy?.kind === "serve_git") return "serve_git";
  switch (code) {
    case "auth_rejected":
    case "auth_expired":
      return "sign_in";
    case "rate_limited":
    case "service_unavailable":
    case "docker_unavailable":
      return "retry";
    case "preflight_failed":
      return "push_anyway";
    default:
      return null;
  }
}

/** Where "Sign in again" leads: set by the app shell to open Settings → Accounts. */
export const signIn: { open: () => void } = { open: () => {} };
