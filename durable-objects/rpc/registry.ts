// The handle on a pipeline's registry (for flows, the scheduled handler and the API; a run's
// coordinator uses the narrower ledger.ts).
import type { Env } from "../../src/env";
import type { PipelineRegistry } from "../pipeline-registry";
import { stubOf, type Remote } from "./types";

export type RegistryStub = Remote<PipelineRegistry>;
export const registryStub = (env: Env, pipeline: string): RegistryStub => stubOf<PipelineRegistry>(env.PIPELINE_REGISTRY, pipeline);
