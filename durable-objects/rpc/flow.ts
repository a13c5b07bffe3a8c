// The handle on a flow's coordinator (for the scheduled handler and the API; a registry uses
// the narrower flow-steps.ts).
import type { Env } from "../../src/env";
import type { FlowCoordinator } from "../flow-coordinator";
import { flowNamespace } from "./flow-steps";
import { stubOf, type Remote } from "./types";

export type FlowStub = Remote<FlowCoordinator>;

export const flowStub = (env: Env, flow: string): FlowStub => stubOf<FlowCoordinator>(flowNamespace(env), flow);
