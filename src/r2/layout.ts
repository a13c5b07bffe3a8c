// Every R2 key sluice writes, in one place. Medallion layers:
//   bronze/raw/<source>/<partition>.json             raw upstream bodies, keyed by source partition
//   bronze/refined/<pipeline>/run=<runId>/<batch>.parquet
//   silver/<pipeline>/run=<runId>/<batch>.parquet
//   silver/<pipeline>/run=<runId>/merge/g<gen>-L<level>-<index>.parquet   intermediate merges
//   gold/<pipeline>/run=<runId>/v<gen>/part-00000.parquet   the run's output (gen: 1, +1 per redrive)
//   runs/<runId>/manifest.json, tasks/<taskId>.json, aggregate-v<gen>.json, retries/<phase>-<group>.json
// A `<key>.done` marker beside each Parquet object says it was written and validated.
import { assertPartition, isRunId } from "../ids";

function run(runId: string): string {
  if (!isRunId(runId)) throw new Error(`invalid run id: ${JSON.stringify(runId)}`);
  return runId;
}

export const layout = {
  bronzeRaw: (source: string, partition: string) => `bronze/raw/${assertPartition(source)}/${assertPartition(partition)}.json`,
  bronzeRefined: (pipeline: string, runId: string, batchId: string) => `bronze/refined/${pipeline}/run=${run(runId)}/${assertPartition(batchId)}.parquet`,
  silver: (pipeline: string, runId: string, batchId: string) => `silver/${pipeline}/run=${run(runId)}/${assertPartition(batchId)}.parquet`,
  merge: (pipeline: string, runId: string, generation: number, level: number, index: number) =>
    `silver/${pipeline}/run=${run(runId)}/merge/g${generation}-L${level}-${String(index).padStart(5, "0")}.parquet`,
  gold: (pipeline: string, runId: string, generation: number) => `gold/${pipeline}/run=${run(runId)}/v${generation}/part-00000.parquet`,
  runManifest: (runId: string) => `runs/${run(runId)}/manifest.json`,
  taskManifest: (runId: string, taskId: string) => `runs/${run(runId)}/tasks/${assertPartition(taskId)}.json`,
  aggregateManifest: (runId: string, generation: number) => `runs/${run(runId)}/aggregate-v${generation}.json`,
  retryManifest: (runId: string, phase: string, group: string) => `runs/${run(runId)}/retries/${assertPartition(phase)}-${assertPartition(group)}.json`,
  done: (key: string) => `${key}.done`,
};
