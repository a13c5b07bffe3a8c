// Planning: a run's batches streamed from the pipeline's planner into SQLite (PLAN_CHUNK a
// transaction, the last marking the plan complete, so a plan cut short by a reset is known to
// be and is planned again), and what the next tasks are, from the outputs of the phase before
// (pure functions).
import type { PlanContext, Pipeline } from "../../src/pipelines/define";
import { layout } from "../../src/r2/layout";
import type { BatchSpec, Json, OutputFile, OutputVersion, Phase, TaskInput } from "../../src/types";
import type { CoordinatorStore, TaskRow } from "./store";
import { overSilver } from "../../src/gold/aggregates";

export interface PlannedTask {
  id: string;
  phase: Phase;
  group: string;
  batchId: string | null;
  generation: number;
  input: TaskInput;
}

export const NEXT_PHASE: Record<Phase, Phase | null> = { ingest: "refine", refine: "silver", silver: "aggregate", aggregate: "quality", quality: null };
export const PREVIOUS_PHASE: Record<Phase, Phase | null> = { ingest: null, refine: "ingest", silver: "refine", aggregate: "silver", quality: "aggregate" };
export const phaseIndex = (p: Phase) => ["ingest", "refine", "silver", "aggregate", "quality"].indexOf(p);

/** The group of a generation's first tasks: `initial`, then `g2`, `g3`, … */
export const generationGroup = (generation: number) => (generation === 1 ? "initial" : `g${generation}`);

/** Task ids: `refine-b000042`, `refine-b000042-g2` (a later generation), `…-retry-1` (a retry pass). */
export function taskId(phase: Phase, batchId: string, generation: number, retry?: string): string {
  return `${phase}-${batchId}${generation > 1 ? `-g${generation}` : ""}${retry ? `-${retry}` : ""}`;
}

/** refine or silver tasks for each batch whose previous-phase task succeeded, unless already taken. */
export function planBatchPhase(phase: "refine" | "silver", generation: number, previous: TaskRow[], taken: Set<string>, paramsKey: string): PlannedTask[] {
  return previous.flatMap((t): PlannedTask[] => {
    if (!t.output || !t.batchId || taken.has(t.batchId)) return [];
    const input: TaskInput =
      phase === "refine"
        ? {
            kind: "refine",
            batchId: t.batchId,
            rawKey: t.output.key,
            partition: t.input.kind === "ingest" ? t.input.batch.partition : "",
            data: t.input.kind === "ingest" ? t.input.batch.data : {},
            inputRows: t.output.rows,
          }
        : { kind: "silver", batchId: t.batchId, refinedKey: t.output.key, paramsKey, inputRows: t.output.rows };
    return [{ id: taskId(phase, t.batchId, generation), phase, group: generationGroup(generation), batchId: t.batchId, generation, input }];
  });
}

/** The same work again as new tasks: a retry pass (`retry-<k>`) or a generation's redrive. */
export function planAgain(failed: TaskRow[], generation: number, retry?: string): PlannedTask[] {
  return failed.map((t) => ({
    id: taskId(t.phase, t.batchId!, generation, retry),
    phase: t.phase,
    group: retry ?? generationGroup(generation),
    batchId: t.batchId,
    generation,
    input: t.input,
  }));
}

/** One level of the hierarchical merge: `fanIn` files per task; a single task writes gold. */
export function planMergeLevel(
  pipeline: Pipeline,
  version: OutputVersion,
  generation: number,
  level: number,
  files: OutputFile[],
  dataset = pipeline.name,
): PlannedTask[] {
  const groups: OutputFile[][] = [];
  for (let i = 0; i < files.length; i += pipeline.mergeFanIn) groups.push(files.slice(i, i + pipeline.mergeFanIn));
  const final = groups.length === 1;
  return groups.map((inputs, index) => ({
    id: `merge-g${generation}-L${level}-${String(index).padStart(5, "0")}`,
    phase: "aggregate",
    group: `merge-L${level}`,
    batchId: null,
    generation,
    input: {
      kind: "merge",
      generation,
      level,
      index,
      inputs,
      final,
      outputKey: final ? layout.gold(dataset, version) : layout.merge(dataset, version, level, index),
      // A run's merges also combine its gold datasets' states, and its final one writes the tables
      // of a pipeline fed by changes (a compaction's merge only files).
      ...(dataset === pipeline.name && overSilver(pipeline.gold).length > 0 ? { gold: true } : {}),
      ...(dataset === pipeline.name && final && pipeline.changes ? { changes: true } : {}),
    },
  }));
}

/** Tasks a run of `batches` batches will have in all, retries aside: for progress. */
export function expectedTasks(batches: number, fanIn: number): number {
  let merges = 0;
  let files = batches;
  do {
    const tasks = Math.ceil(files / fanIn);
    merges += tasks;
    files = tasks;
  } while (files > 1);
  return batches * 3 + merges;
}

/**
 * The pieces of a batch whose ingest failed for good with several keys (a deleted station among
 * eight), as the pipeline cuts it (halves by default), named `<batch>-0`, `<batch>-1`; null when
 * it is not cut. Pieces that fail again with several keys are cut again.
 */
export function splitPieces(pipeline: Pipeline, task: TaskRow): BatchSpec[] | null {
  if (task.phase !== "ingest" || task.input.kind !== "ingest" || !task.batchId) return null;
  const pieces = pipeline.split(task.input.batch);
  if (!pieces || pieces.length < 2) return null;
  return pieces.map((p, i) => ({ id: `${task.batchId}-${i}`, partition: p.partition, data: p.data }));
}

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
