// The manifests the coordinator writes beside its state (src/manifests.ts has the run manifest and
// the writers): a retry pass's, and an aggregation's. Pure over the store.
import type { AggregateManifest } from "../../src/manifests";
import type { Pipeline } from "../../src/pipelines/define";
import { versionName } from "../../src/r2/layout";
import type { OutputFile, Phase } from "../../src/types";
import type { CoordinatorStore, RunRow, TaskRow } from "./store";

/** The manifest of one retry pass: which tasks failed, how, and what was launched. */
export function retryManifest(run: RunRow, phase: Phase, group: string, failed: TaskRow[], launched: string[], now: number) {
  const errorTypes: Record<string, number> = {};
  for (const t of failed) errorTypes[t.error?.type ?? "unknown"] = (errorTypes[t.error?.type ?? "unknown"] ?? 0) + 1;
  return {
    kind: "retry",
    runId: run.id,
    phase,
    group,
    generation: run.generation,
    failedTaskIds: failed.map((t) => t.id),
    errorTypes,
    tasksLaunched: launched,
    writtenAt: new Date(now).toISOString(),
  };
}

/** The aggregation's manifest: its inputs (silver files, or a compaction's outputs), levels and output. */
export function aggregateManifest(store: CoordinatorStore, run: RunRow, pipeline: Pipeline, output: OutputFile, now: number): AggregateManifest {
  const levels: AggregateManifest["levels"] = [];
  for (let level = 1; level <= store.maxMergeLevel(run.generation); level++) {
    const merges = store.mergeTasks(run.generation, level);
    levels.push({ level, tasks: merges.length, files: merges.reduce((n, m) => n + (m.input.kind === "merge" ? m.input.inputs.length : 0), 0) });
  }
  const inputs =
    run.kind === "compaction"
      ? store
          .mergeTasks(run.generation, 1)
          .flatMap((t) => (t.input.kind === "merge" ? t.input.inputs.map((f) => ({ batchId: "", key: f.key, rows: f.rows, sha256: f.sha256 })) : []))
      : store.latest("succeeded", "silver").map((t) => ({ batchId: t.batchId ?? "", key: t.output!.key, rows: t.output!.rows, sha256: t.output!.sha256 }));
  return {
    kind: "aggregate",
    runId: run.id,
    pipeline: pipeline.name,
    version: versionName(run.version!, "gold"),
    generation: run.version!.n,
    inputs,
    levels,
    totalRows: output.rows,
    output,
    writtenAt: new Date(now).toISOString(),
  };
}
