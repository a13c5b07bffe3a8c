// Every R2 key sluice writes, in one place. Medallion layers:
//   bronze/raw/<source>/<partition>.json                        raw upstream bodies, keyed by source partition
//   bronze/refined/dataset=<p>/version=<window>_raw_v<n>/<batch>.parquet
//   silver/dataset=<p>/version=<window>_staged_v<n>/<batch>.parquet
//   silver/dataset=<p>/version=<window>_staged_v<n>/_merge/L<level>-<index>.parquet   intermediate merges
//   gold/dataset=<p>/<year=…/quarter=…>/version=<window>_v<n>/part-00000.parquet      the output
//   gold/dataset=<p>-<d>/<year=…/quarter=…>/version=<window>_v<n>/part-00000.parquet  its gold dataset <d>
//   <silver or merge key>.gold-states.json                      the gold datasets' partial states of that file's rows
//   runs/<runId>/manifest.json, tasks/<taskId>.json, aggregate-v<n>.json, quality-v<n>.json, retries/…
// <n> counts the versions of one pipeline's window (registry): a re-run never overwrites a
// version that readers may use. A `<key>.done` marker beside each Parquet object says it was
// written and validated; readers take only marked objects. Gold also gets `<key>.published` once
// its run's quality phase passed: readers of gold take only published objects.
import { assertPartition, isRunId } from "../ids";
import type { OutputVersion } from "../types";

/** `2024Q1_v3`, `2024Q1_raw_v3`, `2024Q1_staged_v3`. */
export function versionName(v: OutputVersion, layer: "raw" | "staged" | "gold"): string {
  return `${assertPartition(v.window)}_${layer === "gold" ? "" : `${layer}_`}v${v.n}`;
}

function slug(name: string): string {
  if (!isRunId(name)) throw new Error(`invalid name: ${JSON.stringify(name)}`);
  return name;
}

function run(runId: string): string {
  if (!isRunId(runId)) throw new Error(`invalid run id: ${JSON.stringify(runId)}`);
  return runId;
}

const staged = (runId: string) => `runs/${run(runId)}/staged/`;

export const layout = {
  bronzeRaw: (source: string, partition: string) => `bronze/raw/${assertPartition(source)}/${assertPartition(partition)}.json`,
  bronzeRefined: (pipeline: string, v: OutputVersion, batchId: string) =>
    `bronze/refined/dataset=${slug(pipeline)}/version=${versionName(v, "raw")}/${assertPartition(batchId)}.parquet`,
  silver: (pipeline: string, v: OutputVersion, batchId: string) =>
    `silver/dataset=${slug(pipeline)}/version=${versionName(v, "staged")}/${assertPartition(batchId)}.parquet`,
  merge: (pipeline: string, v: OutputVersion, level: number, index: number) =>
    `silver/dataset=${slug(pipeline)}/version=${versionName(v, "staged")}/_merge/L${level}-${String(index).padStart(5, "0")}.parquet`,
  gold: (pipeline: string, v: OutputVersion) =>
    `gold/dataset=${slug(pipeline)}/${assertPartition(v.hive)}/version=${versionName(v, "gold")}/part-00000.parquet`,
  /** A gold dataset of the pipeline (an aggregation declared with it), in the run's version. */
  goldDataset: (pipeline: string, dataset: string, v: OutputVersion) =>
    `gold/dataset=${slug(`${pipeline}-${dataset}`)}/${assertPartition(v.hive)}/version=${versionName(v, "gold")}/part-00000.parquet`,
  /** The gold dataset `dataset` written with a run's output at `goldKey` (the same version). */
  goldDatasetBeside: (goldKey: string, pipeline: string, dataset: string) => {
    const prefix = `gold/dataset=${slug(pipeline)}/`;
    if (!goldKey.startsWith(prefix)) throw new Error(`${goldKey} is not pipeline ${pipeline}'s gold`);
    return `gold/dataset=${slug(`${pipeline}-${dataset}`)}/${goldKey.slice(prefix.length)}`;
  },
  /** The gold datasets' partial states of the rows of one silver or merge file. */
  goldStates: (key: string) => `${key}.gold-states.json`,
  /** What a run's history version was built from (the previous version) and what it applied. */
  changesApplied: (historyKey: string) => `${historyKey}.applied.json`,
  runManifest: (runId: string) => `runs/${run(runId)}/manifest.json`,
  /** A run's params as its silver tasks read them, named by their content (a re-run may change them). */
  runParams: (runId: string, hash: string) => `runs/${run(runId)}/params-${assertPartition(hash)}.json`,
  /** Present once a run was cancelled or timed out: consumers drop its remaining messages. */
  stopped: (runId: string) => `runs/${run(runId)}/stopped`,
  /** A paged or items batch's pages fetched so far, kept while its task waits or retries: a resumed task fetches only the rest. */
  partialRaw: (runId: string, batchId: string) => `runs/${run(runId)}/partial/${assertPartition(batchId)}.json`,
  /** A body too large to hold, as it streamed from the upstream, until it is checked and stored under bronze raw. */
  stagedRaw: (runId: string, batchId: string) => `${staged(runId)}${assertPartition(batchId)}.body`,
  /** Where a run's bodies are staged: nothing stays there once the run has ended. */
  staged,
  taskManifest: (runId: string, taskId: string) => `runs/${run(runId)}/tasks/${assertPartition(taskId)}.json`,
  aggregateManifest: (runId: string, n: number) => `runs/${run(runId)}/aggregate-v${n}.json`,
  qualityManifest: (runId: string, n: number) => `runs/${run(runId)}/quality-v${n}.json`,
  retryManifest: (runId: string, phase: string, group: string) => `runs/${run(runId)}/retries/${assertPartition(phase)}-${assertPartition(group)}.json`,
  done: (key: string) => `${key}.done`,
  published: (key: string) => `${key}.published`,
};
