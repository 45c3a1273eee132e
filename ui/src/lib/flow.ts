// The project header's one next action, from where the project stands in
// the GitHub flow (as GitHub Desktop's primary button follows its repository).

import type { CheckState, DeployStatus, FlowStatus, PullView } from "./ipc";

export type PrimaryKind =
  | "run" | "push_open" | "push" | "arm" | "disarm" | "merge"
  | "deploy" | "deploy_again" | "deploy_blocked" | "switch_default";

export type Primary = {
  kind: PrimaryKind;
  label: string;
  /** A line under the button saying why this is the next step. */
  note: string | null;
};

/** Where a pull request stands: its head's checks, or null once merged or closed. */
export function pullState(view: PullView): CheckState | null {
  if (view.pull.state !== "open") return null;
  const checks = view.checks;
  if (!checks || checks.sha !== view.pull.head_sha) return "pending";
  return checks.state;
}

/** `3/5 checks`, or `no checks yet`. */
export function checksSummary(view: PullView): string {
  const checks = view.checks?.checks ?? [];
  if (!checks.length) return "no checks yet";
  const passed = checks.filter((c) => c.state === "success").length;
  return `${passed}/${checks.length} checks`;
}

type Reviews = NonNullable<PullView["reviews"]>;

/** A word for the chip: `approved`, `changes requested`, `review required`, or null. */
export function reviewWord(view: PullView): string | null {
  switch (view.reviews?.decision) {
    case "approved":
      return "approved";
    case "changes_requested":
      return "changes requested";
    case "review_required":
      return "review required";
    default:
      return null;
  }
}

/**
 * The reviews in one line, as `slipway pr status` says them; without the
 * reviewers' names (`names: false`) where each is shown beside it.
 */
export function reviewsLine(reviews: Reviews, { names = true }: { names?: boolean } = {}): string {
  const by = (state: string) => reviews.reviewers.filter((r) => r.state === state).map((r) => r.login).join(", ");
  const named = (what: string, state: string) => (names && by(state) ? `${what} by ${by(state)}` : what);
  let line: string;
  switch (reviews.decision) {
    case "approved":
      line = named("approved", "approved");
      break;
    case "changes_requested":
      line = named("changes requested", "changes_requested");
      break;
    case "review_required": {
      line = "review required";
      if (reviews.required > 0) line += `: ${reviews.approvals} of ${reviews.required} approvals`;
      const asked = by("requested");
      if (names && asked) line += `; asked: ${asked}`;
      break;
    }
    default:
      line = "no reviews";
  }
  const open = reviews.unresolved_threads ?? 0;
  if (open > 0) line += ` · ${open} unresolved thread${open === 1 ? "" : "s"}`;
  return line;
}

/** What pending checks wait for: `waiting for lint (not reported yet)`. */
export function checksWaiting(view: PullView): string | null {
  const checks = view.checks;
  if (!checks || checks.state !== "pending") return null;
  if (!checks.checks.length) return "no checks reported yet";
  const names = checks.checks
    .filter((c) => c.state === "pending")
    .map((c) => (c.source === "required" || c.source === "expected" ? `${c.name} (not reported yet)` : c.name));
  return `waiting for ${names.join(", ")}`;
}

/** The deploy action on the default branch, from the gate's answer. */
export function deployAction(deploy: DeployStatus): Primary {
  const short = deploy.sha.slice(0, 7);
  const name = deploy.trigger.name;
  if (deploy.refusal) return { kind: "deploy_blocked", label: `Deploy to ${name}`, note: deploy.refusal };
  const last = deploy.last;
  if (last && last.state !== "failed") {
    const how = last.state === "unknown" ? "outcome unknown" : last.state;
    return { kind: "deploy_again", label: "Deploy again", note: `${short} was deployed via ${name} (${how})` };
  }
  return { kind: "deploy", label: `Deploy to ${name}`, note: `${short} is green on ${deploy.trigger.branch}` };
}

/** After the merge: what happened to it, and to its deploy. */
export function mergedNote(view: PullView, deploy: DeployStatus | null): string {
  const merged = `Merged #${view.pull.number} into ${view.pull.base_ref}`;
  const last = deploy?.last;
  const sha = view.pull.merge_sha;
  if (!deploy || !last || !sha || last.sha !== sha) return merged;
  const short = sha.slice(0, 7);
  switch (last.state) {
    case "succeeded":
      return `${merged} · deployed ${short} via ${last.trigger}`;
    case "firing":
      return `${merged} · deploying ${short} via ${last.trigger}`;
    case "failed":
      return `${merged} · deploy of ${short} failed`;
    default:
      return `${merged} · deploy of ${short}: outcome unknown`;
  }
}

/** The deploy offered beside Switch to the default branch after a merge, if any. */
export function afterMergeDeploy(deploy: DeployStatus | null): Primary | null {
  if (!deploy) return null;
  const action = deployAction(deploy);
  return action.kind === "deploy_again" ? { ...action, label: "Deploy again…" } : action;
}

/** The next action for a project, given its flow status (null when it is not on GitHub) and its deploy gate. */
export function primaryAction(flow: FlowStatus | null, deploy: DeployStatus | null = null): Primary {
  const run: Primary = { kind: "run", label: "Run pipeline", note: null };
  if (!flow) return run;
  const branch = flow.branch.branch;
  if (!branch || branch === flow.default_branch) return deploy ? deployAction(deploy) : run;
  const view = flow.pull;
  const open = view && view.pull.state === "open" ? view : null;
  if (!open) {
    if (view?.pull.state === "merged" && flow.branch.ahead === 0) {
      return { kind: "switch_default", label: `Switch to ${flow.default_branch}`, note: mergedNote(view, deploy) };
    }
    if (!flow.branch.commit) return run;
    return { kind: "push_open", label: "Push and open PR", note: `into ${flow.default_branch}` };
  }
  if (flow.branch.ahead > 0) {
    return { kind: "push", label: "Push", note: `${flow.branch.ahead} new commit${flow.branch.ahead === 1 ? "" : "s"} for #${open.pull.number}` };
  }
  if (open.pull.mergeable === false) {
    return {
      ...run,
      note: `#${open.pull.number} conflicts with ${open.pull.base_ref}: merge it into ${branch}, resolve, then push`,
    };
  }
  const reviews = open.reviews;
  if (reviews?.decision === "changes_requested") {
    return { ...run, note: `#${open.pull.number}: ${reviewsLine(reviews)}; push the changes asked for` };
  }
  switch (pullState(open)) {
    case "success":
      if (reviews?.waiting_for) {
        return open.armed
          ? { kind: "disarm", label: "Armed: merges when approved", note: `checks passed; ${reviews.waiting_for}` }
          : { kind: "arm", label: "Merge when approved", note: `#${open.pull.number}'s checks passed; ${reviews.waiting_for}` };
      }
      return { kind: "merge", label: "Merge", note: `#${open.pull.number}'s checks passed` };
    case "failure":
      return { ...run, note: `#${open.pull.number}'s checks failed: open the red check to see why, then fix and push, or re-run it` };
    default:
      return open.armed
        ? { kind: "disarm", label: "Armed: merges when green", note: "click to disarm" }
        : { kind: "arm", label: "Merge when green", note: `#${open.pull.number}: ${checksWaiting(open) ?? "checks are running"}` };
  }
}

/** `feature-x ↑2 ↓0 · 1 changed file`. */
export function branchChip(flow: FlowStatus): string {
  const b = flow.branch;
  let text = `${b.branch ?? "detached HEAD"}`;
  if (b.upstream) text += ` ↑${b.ahead} ↓${b.behind}`;
  else if (b.branch && b.branch !== flow.default_branch) text += " (not pushed)";
  if (b.changed_files) text += ` · ${b.changed_files} changed file${b.changed_files === 1 ? "" : "s"}`;
  return text;
}
