// What the next tasks are, from the outputs of the phase before. Pure functions.
import type { Pipeline } from "../../src/pipelines/define";
import { layout } from "../../src/r2/layout";
import type { OutputFile, Phase, TaskInput } from "../../src/types";
import type { TaskRow } from "./store";

export interface PlannedTask {
  id: string;
  phase: Phase;
  group: string;
  batchId: string | null;
  input: TaskInput;
}

export const NEXT_PHASE: Record<Phase, Phase | null> = { ingest: "refine", refine: "silver", silver: "aggregate", aggregate: null };

/** Task ids: `refine-b000042` for the first task of a batch, `refine-b000042-retry-1` after. */
export const taskId = (phase: Phase, batchId: string, group: string) => (group === "initial" ? `${phase}-${batchId}` : `${phase}-${batchId}-${group}`);

/** refine or silver tasks for each batch whose previous-phase task succeeded, unless already taken. */
export function planBatchPhase(phase: "refine" | "silver", group: string, previous: TaskRow[], taken: Set<string>): PlannedTask[] {
  return previous.flatMap((t): PlannedTask[] => {
    if (!t.output || !t.batchId || taken.has(t.batchId)) return [];
    const input: TaskInput =
      phase === "refine"
        ? { kind: "refine", batchId: t.batchId, rawKey: t.output.key, partition: t.input.kind === "ingest" ? t.input.batch.partition : "" }
        : { kind: "silver", batchId: t.batchId, refinedKey: t.output.key };
    return [{ id: taskId(phase, t.batchId, group), phase, group, batchId: t.batchId, input }];
  });
}

/** The same work again, as a new task of `group` (a retry pass or a redrive). */
export function planAgain(failed: TaskRow[], group: string): PlannedTask[] {
  return failed.map((t) => ({ id: taskId(t.phase, t.batchId!, group), phase: t.phase, group, batchId: t.batchId, input: t.input }));
}

/** One level of the hierarchical merge: `fanIn` files per task; a single task writes gold. */
export function planMergeLevel(runId: string, pipeline: Pipeline, generation: number, level: number, files: OutputFile[]): PlannedTask[] {
  const groups: OutputFile[][] = [];
  for (let i = 0; i < files.length; i += pipeline.mergeFanIn) groups.push(files.slice(i, i + pipeline.mergeFanIn));
  const final = groups.length === 1;
  return groups.map((inputs, index) => ({
    id: `merge-g${generation}-L${level}-${String(index).padStart(5, "0")}`,
    phase: "aggregate",
    group: `merge-L${level}`,
    batchId: null,
    input: {
      kind: "merge",
      generation,
      level,
      index,
      inputs,
      final,
      outputKey: final ? layout.gold(pipeline.name, runId, generation) : layout.merge(pipeline.name, runId, generation, level, index),
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
