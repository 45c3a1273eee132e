import { describe, expect, it } from "vitest";
import type { BranchView } from "./radar";
import { branchLine, branchState, defaultBranch } from "./radar";

const repo = { host: "github.com", owner: "octo", name: "cities" };

function branch(name: string, state: "pending" | "success" | "failure" | null, sha: string | null = "abc"): BranchView {
  return {
    repo, branch: name, default: name === "master", sha,
    checks: state === null ? null : {
      sha: sha ?? "", state,
      checks: [{ name: "lint", state, source: "check_run", detail: null, duration_ms: null, url: null, run_id: 1, app: null }],
    },
  };
}

describe("radar", () => {
  it("shows the default branch's state in a line", () => {
    const branches = [branch("master", "failure"), branch("feature/x", "success")];
    const master = defaultBranch(branches)!;
    expect(master.branch).toBe("master");
    expect(branchState(master)).toBe("failure");
    expect(branchLine(master)).toBe("master: checks failed (lint)");
    expect(branchLine(branch("master", "success"))).toBe("master: checks passed");
    expect(branchState(branch("master", null))).toBe("pending");
    expect(branchLine(branch("feature/y", null, null))).toBe("feature/y: not on GitHub");
    expect(defaultBranch(undefined)).toBeNull();
  });
});
