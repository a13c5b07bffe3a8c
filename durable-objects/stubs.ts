// Typed handles on the Durable Objects. workerd's generated RPC stub types recurse through
// JSON-shaped results until TypeScript gives up, so each stub is typed here from the class's
// own public methods instead (derived, not listed: a new method is callable at once).
import type { FlowCoordinator } from "./flow-coordinator";
import type { PipelineRegistry } from "./pipeline-registry";
import type { RateLimiter } from "./rate-limiter";
import type { RunCoordinator } from "./run-coordinator";
import type { Env } from "../src/env";

import type { DurableObject } from "cloudflare:workers";

/** A class's public methods (its RPC surface): what it declares beyond DurableObject's own handlers. */
type Methods<T> = Exclude<{ [K in keyof T]: T[K] extends (...args: never[]) => unknown ? K : never }[keyof T], keyof DurableObject>;

/** Each public method of T as its stub has it: the same arguments, the result as a promise. */
type Rpc<T> = {
  [M in Methods<T>]: T[M] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

export type CoordinatorStub = Rpc<RunCoordinator>;
export type RegistryStub = Rpc<PipelineRegistry>;
export type LimiterStub = Rpc<RateLimiter>;
export type FlowStub = Rpc<FlowCoordinator>;

export const coordinatorStub = (env: Env, runId: string) => env.RUN_COORDINATOR.get(env.RUN_COORDINATOR.idFromName(runId)) as unknown as CoordinatorStub;

export const registryStub = (env: Env, pipeline: string) => env.PIPELINE_REGISTRY.get(env.PIPELINE_REGISTRY.idFromName(pipeline)) as unknown as RegistryStub;

/** The flow's coordinator; throws when the deployment does not bind FLOW_COORDINATOR (it declares no flow). */
export function flowStub(env: Env, flow: string): FlowStub {
  if (!env.FLOW_COORDINATOR) throw new Error("FLOW_COORDINATOR is not bound: add the FlowCoordinator class to wrangler.toml (sluice config check lists it)");
  return env.FLOW_COORDINATOR.get(env.FLOW_COORDINATOR.idFromName(flow)) as unknown as FlowStub;
}

export const limiterStub = (env: Env, upstream: string) => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(upstream)) as unknown as LimiterStub;
