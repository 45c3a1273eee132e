import { describe, expect, it } from "vitest";
import type { CheckState, DeployStatus, FlowStatus, PullView } from "./ipc";
import {
  afterMergeDeploy, branchChip, checksSummary, checksWaiting, primaryAction, pullState, reviewsLine, reviewWord,
} from "./flow";

const repo = { host: "github.com", owner: "octo", name: "cities" };

function view(state: CheckState | null, armed = false, sha = "aaa"): PullView {
  return {
    repo,
    pull: {
      number: 12, title: "List cities", state: "open", draft: false, head_ref: "feature/cities",
      head_sha: "aaa", base_ref: "master", url: "https://github.com/octo/cities/pull/12", mergeable: true,
      node_id: "PR_octo_cities_12", auto_merge: false, merge_sha: null, requested_reviewers: [],
    },
    reviews: null,
    checks: state === null ? null : {
      sha, state,
      checks: [
        { name: "ci/circleci: build", state, source: "status", detail: null, duration_ms: 1000, url: null, run_id: null, app: null },
        { name: "lint", state: "success", source: "check_run", detail: null, duration_ms: null, url: null, run_id: 5, app: "github-actions" },
      ],
    },
    armed: armed ? { repo, number: 12, sha: "aaa", method: "merge", armed_at: 1, auto_merge: false } : null,
    note: null,
  };
}

function flow(branch: string | null, pull: PullView | null, ahead = 0, upstream: string | null = null): FlowStatus {
  return {
    path: "/p", repo, default_branch: "master", pull,
    branch: { branch, commit: "aaa", upstream, ahead, behind: 0, changed_files: 0 },
  };
}

const gate = (refusal: string | null, last: "succeeded" | "unknown" | "failed" | null = null): DeployStatus => ({
  path: "/p", trigger: { name: "hub", kind: "dockerhub", branch: "master" }, triggers: ["hub"], sha: "a1b2c3d4e5",
  refusal, hint: refusal ? "Wait for the checks" : null,
  last: last === null ? null : {
    id: 1, project: "cities", trigger: "hub", kind: "dockerhub", branch: "master", sha: "a1b2c3d4e5", image: "octo/cities:a1b2c3d", attempt: 1,
    origin: "click", forced: null, state: last, detail: null, started_at_ms: 1, finished_at_ms: 2,
  },
});

describe("the primary action", () => {
  it("runs the pipeline off GitHub, on the default branch and detached", () => {
    expect(primaryAction(null).kind).toBe("run");
    expect(primaryAction(flow("master", null)).kind).toBe("run");
    expect(primaryAction(flow(null, null)).kind).toBe("run");
  });

  it("says a conflicting pull request needs its base merged in, green or not", () => {
    const clash = view("success");
    clash.pull.mergeable = false;
    const primary = primaryAction(flow("feature/cities", clash));
    expect(primary.kind).toBe("run");
    expect(primary.note).toBe("#12 conflicts with master: merge it into feature/cities, resolve, then push");
  });

  it("follows the pull request from push to merge", () => {
    expect(primaryAction(flow("feature/cities", null)).label).toBe("Push and open PR");
    expect(primaryAction(flow("feature/cities", view("pending"))).label).toBe("Merge when green");
    expect(primaryAction(flow("feature/cities", view(null))).kind).toBe("arm");
    expect(primaryAction(flow("feature/cities", view("pending", true))).kind).toBe("disarm");
    expect(primaryAction(flow("feature/cities", view("success"))).label).toBe("Merge");
    expect(primaryAction(flow("feature/cities", view("failure"))).kind).toBe("run");
    expect(primaryAction(flow("feature/cities", view("success"), 2, "origin/feature/cities")).label).toBe("Push");
  });

  it("offers the default branch once merged, and says what was deployed", () => {
    const merged = view("success");
    merged.pull.state = "merged";
    merged.pull.merge_sha = "a1b2c3d4e5";
    const on = flow("feature/cities", merged, 0, "origin/feature/cities");
    const next = primaryAction(on);
    expect(next.kind).toBe("switch_default");
    expect(next.label).toBe("Switch to master");
    expect(next.note).toBe("Merged #12 into master");
    expect(primaryAction(on, gate(null, "succeeded")).note).toBe("Merged #12 into master · deployed a1b2c3d via hub");
    expect(afterMergeDeploy(gate(null, "succeeded"))?.label).toBe("Deploy again…");
    expect(afterMergeDeploy(gate("a1b2c3d on master is red: ci failed"))?.kind).toBe("deploy_blocked");
    expect(afterMergeDeploy(null)).toBeNull();
  });

  it("never calls another commit's green checks the head's", () => {
    expect(pullState(view("success", false, "bbb"))).toBe("pending");
    expect(primaryAction(flow("feature/cities", view("success", false, "bbb"))).kind).toBe("arm");
  });
});

describe("the deploy action", () => {

  it("follows the gate on the default branch", () => {
    const master = flow("master", null);
    expect(primaryAction(master, gate(null))).toEqual({ kind: "deploy", label: "Deploy to hub", note: "a1b2c3d is green on master" });
    expect(primaryAction(master, gate("a1b2c3d on master is red: ci failed")).kind).toBe("deploy_blocked");
    expect(primaryAction(master, gate(null, "succeeded")).label).toBe("Deploy again");
    expect(primaryAction(master, gate(null, "unknown")).note).toContain("outcome unknown");
    expect(primaryAction(master, gate(null, "failed")).kind).toBe("deploy");
    expect(primaryAction(master).kind).toBe("run");
  });
});

describe("the chips", () => {
  it("count checks and describe the branch", () => {
    expect(checksSummary(view("pending"))).toBe("1/2 checks");
    expect(checksSummary(view(null))).toBe("no checks yet");
    expect(branchChip(flow("feature/cities", null, 2, "origin/feature/cities"))).toBe("feature/cities ↑2 ↓0");
    expect(branchChip(flow("feature/cities", null))).toBe("feature/cities (not pushed)");
  });
});

describe("reviews", () => {
  const reviewed = (decision: "approved" | "changes_requested" | "review_required", waiting: string | null) => {
    const v = view("success");
    v.reviews = {
      decision, approvals: decision === "approved" ? 1 : 0, required: 1, unresolved_threads: 2, waiting_for: waiting,
      reviewers: [
        { login: "bob", state: decision === "changes_requested" ? "changes_requested" : "approved" },
        { login: "carol", state: "requested" },
      ],
    };
    return v;
  };

  it("says who approved, who asked for changes and what a merge waits for", () => {
    expect(reviewsLine(reviewed("approved", null).reviews!)).toBe("approved by bob · 2 unresolved threads");
    expect(reviewWord(reviewed("changes_requested", null))).toBe("changes requested");
    const waiting = reviewed("review_required", "waiting for 1 approving review");
    expect(reviewsLine(waiting.reviews!)).toBe("review required: 0 of 1 approvals; asked: carol · 2 unresolved threads");
    // Beside each reviewer's own mark, the line leaves their names out.
    expect(reviewsLine(reviewed("approved", null).reviews!, { names: false })).toBe("approved · 2 unresolved threads");
    expect(reviewsLine(reviewed("changes_requested", null).reviews!, { names: false })).toBe("changes requested · 2 unresolved threads");
    expect(reviewsLine(waiting.reviews!, { names: false })).toBe("review required: 0 of 1 approvals · 2 unresolved threads");
    const next = primaryAction(flow("feature/cities", waiting));
    expect(next.kind).toBe("arm");
    expect(next.note).toBe("#12's checks passed; waiting for 1 approving review");
    const refused = primaryAction(flow("feature/cities", reviewed("changes_requested", null)));
    expect(refused.kind).toBe("run");
    expect(refused.note).toContain("changes requested by bob");
    expect(primaryAction(flow("feature/cities", reviewed("approved", null))).kind).toBe("merge");
    const red = primaryAction(flow("feature/cities", view("failure")));
    expect(red.kind).toBe("run");
    expect(red.note).toBe("#12's checks failed: open the red check to see why, then fix and push, or re-run it");
  });

  it("names the checks still to report", () => {
    const v = view("pending");
    v.checks!.checks.push({ name: "test", state: "pending", source: "expected", detail: null, duration_ms: null, url: null, run_id: null, app: null });
    expect(checksWaiting(v)).toBe("waiting for ci/circleci: build, test (not reported yet)");
    expect(primaryAction(flow("feature/cities", v)).note).toBe("#12: waiting for ci/circleci: build, test (not reported yet)");
  });
});
