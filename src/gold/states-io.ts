// Gold datasets' partial states in R2, beside the silver or merge file whose rows they hold
// (`<key>.gold-states.json`), and the datasets' Parquet files written from the final states.
import type { ColumnSpec } from "../arrow/columns";
import { writeParquetRows } from "../parquet/write";
import { putDone } from "../r2/done";
import { layout } from "../r2/layout";
import type { OutputFile, OutputVersion } from "../types";
import { TaskFailure } from "../upstream/classify";
import { goldColumns, goldRows, mergeStates, type GoldDataset, type States } from "./aggregates";

/** Every dataset's states, by dataset name. */
export type DatasetStates = Record<string, States>;

export async function putStates(bucket: R2Bucket, key: string, states: DatasetStates): Promise<void> {
  await bucket.put(layout.goldStates(key), JSON.stringify(states), { httpMetadata: { contentType: "application/json" } });
}

/** The states of `inputs`, combined one input at a time (a missing one fails the task for good). */
export async function combinedStates(bucket: R2Bucket, datasets: GoldDataset[], inputs: OutputFile[]): Promise<DatasetStates> {
  const combined: DatasetStates = Object.fromEntries(datasets.map((d) => [d.name, {}]));
  for (const input of inputs) {
    const object = await bucket.get(layout.goldStates(input.key));
    if (!object) throw new TaskFailure({ type: "missing_input", message: `gold states of ${input.key} are missing`, class: "permanent" });
    const states = (await object.json()) as DatasetStates;
    for (const d of datasets) mergeStates(d, combined[d.name]!, states[d.name] ?? {});
  }
  return combined;
}

/** Write each dataset's rows as Parquet, done-marked, in the run's version. */
export async function writeDatasets(
  bucket: R2Bucket,
  pipeline: string,
  version: OutputVersion,
  datasets: GoldDataset[],
  silver: ColumnSpec[],
  states: DatasetStates,
): Promise<OutputFile[]> {
  const files: OutputFile[] = [];
  for (const d of datasets) {
    const rows = goldRows(d, silver, states[d.name] ?? {});
    const bytes = await writeParquetRows(goldColumns(d, silver), rows);
    files.push(await putDone(bucket, layout.goldDataset(pipeline, d.name, version), bytes, rows.length, "application/vnd.apache.parquet"));
  }
  return files;
}
