// Gold datasets' partial states in R2, beside the silver or merge file whose rows they hold
// (`<key>.gold-states.json`), each with the fingerprint of the definition that made it, and the
// datasets' Parquet files written from the final states. A partitioned dataset's states are one
// object a part instead (`<key>.gold-states/<dataset>-<fingerprint>/p<i>.json`, completed by an
// `index.json` written last), combined a part at a time (src/gold/partitions.ts). A silver file
// whose states are missing (written before the dataset existed) or were made by another
// definition has them computed again from its rows: a changed dataset is rebuilt from silver,
// without a download.
import type { ColumnSpec } from "../arrow/columns";
import { writeParquetRows } from "../parquet/write";
import { putDone } from "../r2/done";
import { layout } from "../r2/layout";
import type { OutputFile, OutputVersion } from "../types";
import { TaskFailure } from "../upstream/classify";
import { readParquetRows } from "../parquet/read";
import { fnv1a64 } from "../hash";
import { goldColumns, goldRows, mergeStates, statesOf, type GoldDataset, type States } from "./aggregates";
import { loadLookup, type LookupTable } from "./lookups";
import { partitionsOf, splitStates } from "./partitions";
import { partedFile } from "../parquet/write-parts";

/** Every dataset's states, by dataset name. */
export type DatasetStates = Record<string, States>;

/** As stored: each dataset's states with its definition's fingerprint. */
type StoredStates = Record<string, { fp: string; states: States }>;

const fingerprints = new WeakMap<GoldDataset, string>();

/** What identifies a dataset's definition: its groups, bucket and aggregates (a user aggregate by its code). */
export function fingerprint(d: GoldDataset): string {
  const known = fingerprints.get(d);
  if (known) return known;
  const aggregates = Object.entries(d.aggregates).map(([name, a]) =>
    a.fn === "custom" ? [name, a.fn, a.type, String(a.init), String(a.add), String(a.merge), String(a.finish)] : [name, a],
  );
  // A lookup is not in it: the states do not depend on it (the final merge applies it).
  const parts = partitionsOf(d) > 1 ? [partitionsOf(d)] : [];
  const fp = fnv1a64(JSON.stringify([d.groupBy, d.bucket ?? null, aggregates, ...(d.where ? [String(d.where)] : []), ...parts]));
  fingerprints.set(d, fp);
  return fp;
}

const JSON_TYPE = { httpMetadata: { contentType: "application/json" } };
const whole = (datasets: GoldDataset[]) => datasets.filter((d) => partitionsOf(d) === 1);

/** The states of the file `key`'s rows: in its states object, and a partitioned dataset's a part an object. */
export async function putStates(bucket: R2Bucket, key: string, datasets: GoldDataset[], states: DatasetStates): Promise<void> {
  const stored: StoredStates = Object.fromEntries(whole(datasets).map((d) => [d.name, { fp: fingerprint(d), states: states[d.name] ?? {} }]));
  await bucket.put(layout.goldStates(key), JSON.stringify(stored), JSON_TYPE);
  for (const d of datasets) if (partitionsOf(d) > 1) await putParts(bucket, key, d, states[d.name] ?? {});
}

/** A file's states of the partitioned dataset `d`, split into its parts, an object each. */
async function putParts(bucket: R2Bucket, key: string, d: GoldDataset, states: States): Promise<void> {
  const parts = partWriter(bucket, key, d);
  await Promise.all(splitStates(states, partitionsOf(d)).map((part, p) => parts.put(p, part)));
  await parts.complete();
}

/** Where the file `key`'s states of the partitioned dataset `d` (as now defined) are. */
const partsFolder = (key: string, d: GoldDataset) => `${layout.goldStates(key).replace(/\.json$/, "")}/${d.name}-${fingerprint(d)}`;

/** Writes a file's parts of `d`; `complete()` after the last marks them whole. */
function partWriter(bucket: R2Bucket, key: string, d: GoldDataset) {
  const folder = partsFolder(key, d);
  return {
    put: async (p: number, states: States) => void (await bucket.put(`${folder}/p${p}.json`, JSON.stringify(states), JSON_TYPE)),
    complete: async () => void (await bucket.put(`${folder}/index.json`, JSON.stringify({ partitions: partitionsOf(d) }), JSON_TYPE)),
  };
}

async function readPart(bucket: R2Bucket, key: string, d: GoldDataset, p: number): Promise<States> {
  const object = await bucket.get(`${partsFolder(key, d)}/p${p}.json`);
  if (!object) throw new TaskFailure({ type: "missing_input", message: `part ${p} of ${d.name}'s gold states of ${key} is missing`, class: "permanent" });
  return (await object.json()) as States;
}

/** A silver batch's file (not an intermediate merge): its rows can make its states again. */
const isSilverBatch = (key: string) => key.startsWith("silver/") && !key.includes("/_merge/");

/**
 * A merge task's gold work: its inputs' states combined and kept beside `outputKey`, or, by the
 * final merge (`final`), written as the datasets' files. A partitioned dataset is combined a part
 * at a time, after the parts of inputs that lack them were made again from their rows.
 */
export async function mergeGold(
  bucket: R2Bucket,
  datasets: GoldDataset[],
  inputs: OutputFile[],
  outputKey: string,
  final?: { pipeline: string; version: OutputVersion; silver: ColumnSpec[] },
): Promise<void> {
  const states = await combinedStates(bucket, whole(datasets), inputs);
  if (final) await writeDatasets(bucket, final.pipeline, final.version, whole(datasets), final.silver, states);
  else await putStates(bucket, outputKey, whole(datasets), states);
  const split = datasets.filter((d) => partitionsOf(d) > 1);
  if (split.length === 0) return;
  await remakeMissingParts(bucket, split, inputs);
  for (const d of split) {
    if (final) await writePartitioned(bucket, final.pipeline, final.version, d, final.silver, inputs);
    else {
      const parts = partWriter(bucket, outputKey, d);
      for (let p = 0; p < partitionsOf(d); p++) await parts.put(p, await combinedPart(bucket, d, inputs, p));
      await parts.complete();
    }
  }
}

/** Part `p` of `d`'s states of `inputs`, combined one input at a time. */
async function combinedPart(bucket: R2Bucket, d: GoldDataset, inputs: OutputFile[], p: number): Promise<States> {
  const combined: States = {};
  for (const input of inputs) mergeStates(d, combined, await readPart(bucket, input.key, d, p));
  return combined;
}

/** Inputs without complete parts of a dataset as now defined get them from their rows (silver files only). */
async function remakeMissingParts(bucket: R2Bucket, datasets: GoldDataset[], inputs: OutputFile[]): Promise<void> {
  for (const input of inputs) {
    const missing: GoldDataset[] = [];
    for (const d of datasets) if (!(await bucket.head(`${partsFolder(input.key, d)}/index.json`))) missing.push(d);
    if (missing.length === 0) continue;
    const rows = await silverRows(bucket, input.key);
    for (const d of missing) await putParts(bucket, input.key, d, statesOf(d, rows));
  }
}

/** The rows of a silver batch's file, to make its states again; a merge file's states are always this run's (anything else fails the task for good). */
async function silverRows(bucket: R2Bucket, key: string) {
  if (!isSilverBatch(key)) throw new TaskFailure({ type: "missing_input", message: `gold states of ${key} are missing or stale`, class: "permanent" });
  const file = await bucket.get(key);
  if (!file) throw new TaskFailure({ type: "missing_input", message: `${key} is missing`, class: "permanent" });
  return readParquetRows(new Uint8Array(await file.arrayBuffer()));
}

/**
 * A partitioned dataset's file: each part's rows written as Parquet on its own (beside the output,
 * deleted after), then the parts joined as its row groups without decoding (src/parquet/stitch.ts).
 */
async function writePartitioned(bucket: R2Bucket, pipeline: string, version: OutputVersion, d: GoldDataset, silver: ColumnSpec[], inputs: OutputFile[]) {
  const table: LookupTable | undefined = d.lookup ? await loadLookup(bucket, d.lookup, { name: version.window, hive: version.hive }) : undefined;
  const file = partedFile(bucket, layout.goldDataset(pipeline, d.name, version), goldColumns(d, silver));
  try {
    for (let p = 0; p < partitionsOf(d); p++) await file.add(goldRows(d, silver, await combinedPart(bucket, d, inputs, p), table));
    return await file.finish();
  } finally {
    await file.discard();
  }
}

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
    if (stale.length > 0) rows = await silverRows(bucket, input.key);
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
