// A run's plan, streamed from the pipeline's planner into SQLite: PLAN_CHUNK batches per
// transaction, the last marking the plan complete, so a reset part way leaves a plan that is
// known to be cut short (and is planned again), never one that passes for whole.
import type { PlanContext, Pipeline } from "../../src/pipelines/define";
import type { BatchSpec, Json } from "../../src/types";
import type { CoordinatorStore } from "./store";

const PLAN_CHUNK = 500;

/** Store the plan's batches from the start (dropping what an earlier, cut-short try stored). */
export async function storePlan(
  storage: DurableObjectStorage,
  store: CoordinatorStore,
  pipeline: Pipeline,
  params: Json,
  ctx: PlanContext,
): Promise<{ error?: string }> {
  storage.transactionSync(() => store.clearPlan());
  let chunk: BatchSpec[] = [];
  let n = 0;
  const flush = (last = false) => {
    const batches = chunk;
    chunk = [];
    storage.transactionSync(() => {
      store.addBatches(batches);
      if (last) store.planComplete();
    });
  };
  try {
    for await (const b of pipeline.planStream(params, ctx)) {
      if (n >= pipeline.maxBatches) return { error: `the plan has more than ${pipeline.maxBatches} batches, the most one run of ${pipeline.name} may have` };
      chunk.push({ id: `b${String(n++).padStart(6, "0")}`, partition: b.partition, data: b.data });
      if (chunk.length >= PLAN_CHUNK) flush();
    }
    if (n === 0) return { error: "the params plan no batches" };
    flush(true);
  } catch (err) {
    return { error: `planning failed: ${err instanceof Error ? err.message : String(err)}` };
  }
  return {};
}

/** Whether `params` plan the very batches stored (a phase re-run may change params, not the plan). */
export async function samePlan(store: CoordinatorStore, pipeline: Pipeline, params: Json, ctx: PlanContext): Promise<boolean> {
  const stored = store.batchPartitions();
  store.forgetKeys("check");
  try {
    for await (const b of pipeline.planStream(params, ctx)) if (stored.next().value !== b.partition) return false;
    return stored.next().done === true;
  } finally {
    store.forgetKeys("check");
  }
}
