// Compaction: the published outputs of one schedule's runs in a month or quarter merged into one
// file of the dataset `<pipeline>-<compaction>` (the small-files problem), again whenever a run
// of the window ends later with new output.
import type { Env } from "../../src/env";
import { fnv1a64 } from "../../src/hash";
import type { Pipeline } from "../../src/pipelines/define";
import { compactionWindow, nameOf, windowContaining, type Compaction, type DateWindow } from "../../src/pipelines/schedule";
import { coordinatorStub } from "../rpc/coordinator";
import type { RunOutput } from "../../src/types";
import { publishedOutput, type RegistryStore } from "./store";

/**
 * Merge the published outputs of `compaction.from`'s runs in `window`, unless they are the very
 * ones its last compaction merged: a run that ended after that (catch-up, redrive, a slow day)
 * makes a new compaction, `<id>-r2`, `-r3`, … as a new version. Returns the run started.
 */
export async function compactWindow(store: RegistryStore, env: Env, pipelineName: string, compaction: Compaction, window: DateWindow): Promise<string | null> {
  const inputs = store
    .scheduled(compaction.from, window.from, window.to)
    .map(publishedOutput)
    .filter((o): o is RunOutput => o !== null);
  if (inputs.length === 0) return null;
  const fingerprint = fnv1a64(
    inputs
      .map((o) => `${o.key}:${o.sha256}`)
      .sort()
      .join("\n"),
  );
  const base = `${pipelineName}-compact-${compaction.name}-${nameOf(window).name.toLowerCase()}`;
  const last = store.compacted(compaction.name, window.from) ?? (store.run(base) ? { inputs: fingerprint, runId: base, round: 1 } : null);
  if (last?.inputs === fingerprint) {
    if (!store.compacted(compaction.name, window.from)) store.setCompacted(compaction.name, window.from, fingerprint, base, 1);
    return null;
  }
  const round = (last?.round ?? 0) + 1;
  const runId = round === 1 ? base : `${base}-r${round}`;
  await coordinatorStub(env, runId).compact({
    runId,
    pipeline: pipelineName,
    dataset: `${pipelineName}-${compaction.name}`,
    window: nameOf(window),
    inputs,
    now: Date.now(),
  });
  store.setCompacted(compaction.name, window.from, fingerprint, runId, round);
  return runId;
}

/** A scheduled run ended with a published output in a window already compacted: compact it again. */
export async function compactLate(store: RegistryStore, env: Env, pipeline: Pipeline, schedule: string, window: DateWindow): Promise<void> {
  for (const compaction of pipeline.compactions.filter((c) => c.from === schedule)) {
    const covering = windowContaining(compactionWindow(compaction), window.from);
    if (store.compacted(compaction.name, covering.from) || store.run(`${pipeline.name}-compact-${compaction.name}-${nameOf(covering).name.toLowerCase()}`))
      await compactWindow(store, env, pipeline.name, compaction, covering);
  }
}
