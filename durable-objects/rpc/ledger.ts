// What a run's coordinator asks of its pipeline's registry: an output version for its window,
// and to record where the run stands. The registry implements it; the coordinator depends on
// this contract only, so the registry (which starts coordinators) and the coordinator do not
// import each other.
import type { Env } from "../../src/env";
import type { RunSummary } from "../../src/types";
import { stubOf } from "./types";

export interface RunLedger {
  /** The next output version number of `window` (1, 2, …). */
  allocateVersion(window: string): number;
  /** The run's latest summary: the registry's index, its lanes and what waits on the run. */
  record(summary: RunSummary): Promise<void>;
}

export const ledgerStub = (env: Env, pipeline: string) => stubOf<RunLedger>(env.PIPELINE_REGISTRY, pipeline);
