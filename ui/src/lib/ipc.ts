// The one typed door to the Rust side: generated bindings, with results
// unwrapped so failures arrive as `ProblemError` ({code, message, hint}).

import type {
  About,
  HealthCheck,
  Account_Serialize,
  Accounts_Serialize,
  ContainerInfo_Serialize,
  DeployDone_Serialize,
  DeployRecord_Serialize,
  DeployStatus_Serialize,
  FailedCheck_Serialize,
  FlowStatus_Serialize,
  Imported,
  OpenPulls_Serialize,
  PullView_Serialize,
  Outcome_Serialize,
  Problem_Serialize,
  ProjectInfo_Serialize,
  Pushed_Serialize,
  PushReport,
  PushView_Serialize,
  RunDetails_Serialize,
  RunEvent_Serialize,
  RunRecord_Serialize,
  Settings_Serialize,
} from "./bindings";
import { commands, events } from "./bindings";

export { commands, events };
export type { AccountKind, LayerState, PushEvent, CheckState, MergeMethod, StepKind, Theme } from "./bindings";

// The shapes Rust sends (the bindings also describe what it accepts).
export type { About, HealthCheck };
export type Account = Account_Serialize;
export type Accounts = Accounts_Serialize;
export type ContainerInfo = ContainerInfo_Serialize;
export type FlowStatus = FlowStatus_Serialize;
export type DeployDone = DeployDone_Serialize;
export type DeployRecord = DeployRecord_Serialize;
export type DeployStatus = DeployStatus_Serialize;
export type FailedCheck = FailedCheck_Serialize;
export type { Imported };
export type OpenPulls = OpenPulls_Serialize;
export type PullView = PullView_Serialize;
export type Outcome = Outcome_Serialize;
export type Problem = Problem_Serialize;
export type ProjectInfo = ProjectInfo_Serialize;
export type Pushed = Pushed_Serialize;
export type { PushReport };
export type PushView = PushView_Serialize;
export type RunDetails = RunDetails_Serialize;
export type RunEvent = RunEvent_Serialize;
export type RunRecord = RunRecord_Serialize;
export type Settings = Settings_Serialize;

export class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.message);
  }
}

type Result<T> = { status: "ok"; data: T } | { status: "error"; error: Problem };

/** Awaits a command and returns its data, or throws its problem. */
export async function call<T>(pending: Promise<Result<T>>): Promise<T> {
  const result = await pending;
  if (result.status === "error") throw new ProblemError(result.error);
  return result.data;
}

/** A problem from anything thrown. */
export function asProblem(e: unknown): Problem {
  if (e instanceof ProblemError) return e.problem;
  return { code: "io", message: e instanceof Error ? e.message : String(e) } as Problem;
}
