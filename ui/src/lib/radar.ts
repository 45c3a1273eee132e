// The branch radar as the project list shows it: each project's default
// branch, its state and a line saying it.

import type { BranchView_Serialize } from "./bindings";

export type BranchView = BranchView_Serialize;

/** The project's default branch among its followed ones. */
export function defaultBranch(branches: BranchView[] | undefined): BranchView | null {
  return branches?.find((b) => b.default) ?? null;
}

/** Where a branch's tip stands; null when GitHub does not have it. */
export function branchState(branch: BranchView): "pending" | "success" | "failure" | null {
  if (!branch.sha) return null;
  const checks = branch.checks;
  if (!checks || checks.sha !== branch.sha) return "pending";
  return checks.state;
}

/** `master: checks failed (lint)`, `master: checks passed`. */
export function branchLine(branch: BranchView): string {
  switch (branchState(branch)) {
    case null:
      return `${branch.branch}: not on GitHub`;
    case "pending":
      return `${branch.branch}: checks running`;
    case "success":
      return `${branch.branch}: checks passed`;
    case "failure": {
      const failed = (branch.checks?.checks ?? []).filter((c) => c.state === "failure").map((c) => c.name);
      return `${branch.branch}: checks failed${failed.length ? ` (${failed.join(", ")})` : ""}`;
    }
  }
}
