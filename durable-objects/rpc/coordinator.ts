// The handle on a run's coordinator (for the registry, flows, the API and the consumers).
import type { Env } from "../../src/env";
import type { RunCoordinator } from "../run-coordinator";
import { stubOf, type Remote } from "./types";

export type CoordinatorStub = Remote<RunCoordinator>;
export const coordinatorStub = (env: Env, runId: string): CoordinatorStub => stubOf<RunCoordinator>(env.RUN_COORDINATOR, runId);
