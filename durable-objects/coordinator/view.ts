// A run as the API shows it: status, per-phase counts and times, progress, output.
import { DEFAULT_MERGE_FAN_IN, type Pipeline } from "../../src/pipelines/define";
import { versionName } from "../../src/r2/layout";
import type { RunView } from "../../src/types";
import { PHASES, TERMINAL_RUN_STATUSES } from "../../src/types";
import { expectedTasks } from "./planning";
import { runUsage } from "../../src/costs/usage";
import type { CoordinatorStore, RunRow } from "./store";

/** The run as the API shows it; `pipeline` is undefined when it was removed from the catalog since. */
export function runView(store: CoordinatorStore, run: RunRow, pipeline: Pipeline | undefined): RunView {
  const counts = store.counts();
  const times = store.phaseTimes();
  const phases = Object.fromEntries(
    PHASES.map((p) => [p, { ...counts[p], startedAt: times.get(p)?.startedAt ?? null, finishedAt: times.get(p)?.finishedAt ?? null }]),
  ) as RunView["phases"];
  const done = PHASES.reduce((sum, p) => sum + counts[p].succeeded + counts[p].failed + counts[p].dead + counts[p].split, 0);
  const all = PHASES.reduce((sum, p) => sum + counts[p].total, 0);
  const finished = TERMINAL_RUN_STATUSES.includes(run.status);
  // A compaction has only merge tasks; a run has three per batch before them.
  const expected = expectedTasks(run.batches, pipeline?.mergeFanIn ?? DEFAULT_MERGE_FAN_IN) - (run.kind === "compaction" ? 3 * run.batches : 0);
  const total = finished ? done : Math.max(expected + store.extraTasks(), all);
  return {
    id: run.id,
    pipeline: run.pipeline,
    status: run.status,
    phase: run.phase,
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    reason: run.reason,
    params: run.params,
    options: run.options,
    generation: run.generation,
    version: run.version ? versionName(run.version, "gold") : null,
    batches: run.batches,
    lostBatches: store.lostBatches(),
    deadItems: store.deadItemCount(),
    phases,
    progress: { done, total, percent: total === 0 ? 0 : Math.floor((done / total) * 1000) / 10 },
    badRows: store.badRows(),
    duplicateRows: store.duplicateRows(),
    duplicateIds: run.duplicateIds,
    coordinator: { storageBytes: store.storageBytes(), reportCalls: store.reportCalls() },
    usage: runUsage(store.usage()),
    output: run.output,
    published: run.published,
  };
}
