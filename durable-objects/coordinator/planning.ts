// What the next phase's tasks are, from the outputs of the phase before. Pure functions.
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

/** refine and silver: one task per batch whose previous task succeeded. */
export function planBatchPhase(phase: "refine" | "silver", done: TaskRow[]): PlannedTask[] {
  return done.flatMap((t): PlannedTask[] => {
    if (!t.output || !t.batchId) return [];
    if (phase === "refine") {
      const partition = t.input.kind === "ingest" ? t.input.batch.partition : "";
      return [{ id: `refine-${t.batchId}`, phase, group: "initial", batchId: t.batchId, input: { kind: "refine", batchId: t.batchId, rawKey: t.output.key, partition } }];
    }
    return [{ id: `silver-${t.batchId}`, phase, group: "initial", batchId: t.batchId, input: { kind: "silver", batchId: t.batchId, refinedKey: t.output.key } }];
  });
}

/** One level of the hierarchical merge: `fanIn` files per task; a single task writes gold. */
export function planMergeLevel(runId: string, pipeline: Pipeline, level: number, files: OutputFile[]): PlannedTask[] {
  const groups: OutputFile[][] = [];
  for (let i = 0; i < files.length; i += pipeline.mergeFanIn) groups.push(files.slice(i, i + pipeline.mergeFanIn));
  const final = groups.length === 1;
  return groups.map((inputs, index) => ({
    id: `merge-L${level}-${String(index).padStart(5, "0")}`,
    phase: "aggregate",
    group: `merge-L${level}`,
    batchId: null,
    input: {
      kind: "merge",
      level,
      index,
      inputs,
      final,
      outputKey: final ? layout.gold(pipeline.name, runId) : layout.merge(pipeline.name, runId, level, index),
    },
  }));
}

/** Tasks a run of `batches` batches will have in all: for progress. */
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
