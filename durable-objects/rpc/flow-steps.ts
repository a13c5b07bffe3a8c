// What a pipeline's registry tells a flow: one of its steps' runs ended. The flow coordinator
// implements it; the registry depends on this contract only (the flow submits runs to the
// registry, so the two do not import each other).
import type { Env } from "../../src/env";
import { stubOf } from "./types";

export interface FlowSteps {
  stepEnded(flowName: string, runId: string, stepName: string, stepRun: string, status: string, reason: string | null): Promise<void>;
}

/** Flows' coordinators; throws when the deployment does not bind FLOW_COORDINATOR (it declares no flow). */
export function flowNamespace(env: Env): DurableObjectNamespace<Rpc.DurableObjectBranded | undefined> {
  if (!env.FLOW_COORDINATOR) throw new Error("FLOW_COORDINATOR is not bound: add the FlowCoordinator class to wrangler.toml (sluice config check lists it)");
  return env.FLOW_COORDINATOR;
}

export const flowStepsStub = (env: Env, flow: string) => stubOf<FlowSteps>(flowNamespace(env), flow);
