// Gold datasets' partial states in R2, beside the silver or merge file whose rows they hold
// (`<key>.gold-states.json`), each with the fingerprint of the definition that made it, and the
// datasets' Parquet files written from the final states. A silver file whose states are missing
// (written before the dataset existed) or were made by another definition has them computed
// again from its rows: a changed dataset is rebuilt from silver, without a download.
import type { ColumnSpec } from "../arrow/columns";
import { writeParquetRows } from "../parquet/write";
import { putDone } from "../r2/done";
import { layout } from "../r2/layout";
import type { OutputFile, OutputVersion } from "../types";
import { TaskFailure } from "../upstream/classify";
import { readParquetRows } from "../parquet/read";
import { fnv1a64 } from "../hash";
import { goldColumns, goldRows, mergeStates, statesOf, type GoldDataset, type States } from "./aggregates";
import { loadLookup } from "./lookups";

/** Every dataset's states, by dataset name. */
export type DatasetStates = Record<string, States>;

/** As stored: each dataset's states with its definition's fingerprint. */
type StoredStates = Record<string, { fp: string; states: States }>;

/** What identifies a dataset's definition: its groups, bucket and aggregates (a user aggregate by its code). */
export function fingerprint(d: GoldDataset): string {
  const aggregates = Object.entries(d.aggregates).map(([name, a]) =>
    a.fn === "custom" ? [name, a.fn, a.type, String(a.init), String(a.add), String(a.merge), String(a.finish)] : [name, a],
  );
  // A lookup is not in it: the states do not depend on it (the final merge applies it).
  return fnv1a64(JSON.stringify([d.groupBy, d.bucket ?? null, aggregates, ...(d.where ? [String(d.where)] : [])]));
}

export async function putStates(bucket: R2Bucket, key: string, datasets: GoldDataset[], states: DatasetStates): Promise<void> {
  const stored: StoredStates = Object.fromEntries(datasets.map((d) => [d.name, { fp: fingerprint(d), states: states[d.name] ?? {} }]));
  await bucket.put(layout.goldStates(key), JSON.stringify(stored), { httpMetadata: { contentType: "application/json" } });
}

/** A silver batch's file (not an intermediate merge): its rows can make its states again. */
const isSilverBatch = (key: string) => key.startsWith("silver/") && !key.includes("/_merge/");

/**
 * The states of `inputs`, combined one input at a time. An input's states for a dataset that are
 * missing or from another definition are computed again from its rows when it is a silver file;
 * a merge file's are always this run's (anything else fails the task for good).
 */
export async function combinedStates(bucket: R2Bucket, datasets: GoldDataset[], inputs: OutputFile[]): Promise<DatasetStates> {
  const combined: DatasetStates = Object.fromEntries(datasets.map((d) => [d.name, {}]));
  for (const input of inputs) {
    const object = await bucket.get(layout.goldStates(input.key));
    const stored = object ? ((await object.json()) as StoredStates) : {};
    const stale = datasets.filter((d) => stored[d.name]?.fp !== fingerprint(d));
    let rows: Awaited<ReturnType<typeof readParquetRows>> | null = null;
    if (stale.length > 0) {
      if (!isSilverBatch(input.key))
        throw new TaskFailure({ type: "missing_input", message: `gold states of ${input.key} are missing or stale`, class: "permanent" });
      const file = await bucket.get(input.key);
      if (!file) throw new TaskFailure({ type: "missing_input", message: `${input.key} is missing`, class: "permanent" });
      rows = await readParquetRows(new Uint8Array(await file.arrayBuffer()));
    }
    for (const d of datasets) mergeStates(d, combined[d.name]!, stale.includes(d) ? statesOf(d, rows!) : stored[d.name]!.states);
  }
  return combined;
}

/** Write each dataset's rows as Parquet, done-marked, in the run's version (a lookup reads its dimension's published version first). */
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
    const table = d.lookup ? await loadLookup(bucket, d.lookup, { name: version.window, hive: version.hive }) : undefined;
    const rows = goldRows(d, silver, states[d.name] ?? {}, table);
    const bytes = await writeParquetRows(goldColumns(d, silver), rows);
    files.push(await putDone(bucket, layout.goldDataset(pipeline, d.name, version), bytes, rows.length, "application/vnd.apache.parquet"));
  }
  return files;
}
