// Typed handles on the Durable Objects. workerd's generated RPC stub types recurse through
// JSON-shaped results until TypeScript gives up, so each stub is typed here from the class's
// own method signatures instead.
import type { PipelineRegistry } from "./pipeline-registry";
import type { RateLimiter } from "./rate-limiter";
import type { RunCoordinator } from "./run-coordinator";
import type { Env } from "../src/env";

type Rpc<T, K extends keyof T> = {
  [M in K]: T[M] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

export type CoordinatorStub = Rpc<
  RunCoordinator,
  "start" | "begin" | "cancel" | "report" | "waiting" | "view" | "tasks" | "ingestRate" | "redrive" | "rerun" | "notifications" | "compact"
>;
export type RegistryStub = Rpc<
  PipelineRegistry,
  | "record"
  | "list"
  | "allocateVersion"
  | "submit"
  | "fire"
  | "setPaused"
  | "setSchedulePaused"
  | "delivered"
  | "state"
  | "backfill"
  | "backfillView"
  | "scheduledRuns"
  | "compactFiring"
  | "qualitySweep"
>;
export type LimiterStub = Rpc<RateLimiter, "acquire" | "release" | "throttled" | "snapshot">;

export const coordinatorStub = (env: Env, runId: string) => env.RUN_COORDINATOR.get(env.RUN_COORDINATOR.idFromName(runId)) as unknown as CoordinatorStub;

export const registryStub = (env: Env, pipeline: string) => env.PIPELINE_REGISTRY.get(env.PIPELINE_REGISTRY.idFromName(pipeline)) as unknown as RegistryStub;

export const limiterStub = (env: Env, upstream: string) => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(upstream)) as unknown as LimiterStub;
