// Writing a run's `current` and `history` versions (src/gold/changes.ts says what they hold): from
// the latest published history and the run's changes (its merged silver output), never in place.
// Whole, the final merge holds the history at once, up to `maxRows`. With `partitions` the keys
// are split by a hash into parts, applied one part at a time: the previous history's part (its row
// groups, as that version's `applied.json` lists them; every row group, keeping the part's rows,
// when it was cut another way) and the part's changes (each pass reads the run's changes a row
// group at a time and keeps that part's keys). Each part's rows become row groups of the two
// files (joined without decoding), so a task holds one part of the history, `maxRows` at most,
// whatever the number of keys.
import type { Row } from "../arrow/columns";
import { writeParquetRows } from "../parquet/write";
import { readParquetRows } from "../parquet/read";
import { readFooter, rowGroupsFile, stitchParquetToR2, type ParquetFooter } from "../parquet/stitch";
import { latestPublishedOfAnyWindow, markDone, putDone, type PublishedMarker } from "../r2/done";
import { layout } from "../r2/layout";
import type { OutputFile, OutputVersion } from "../types";
import { TaskFailure } from "../upstream/classify";
import type { ColumnSpec } from "../arrow/columns";
import { mergeStates, statesOf, type GoldDataset } from "./aggregates";
import { applyChanges, changeKeyOf, changeTableColumns, CHANGE_TABLES, HISTORY_MAX_ROWS, type ChangesApplied, type ChangesDefinition } from "./changes";
import { partitionOf } from "./partitions";
import type { DatasetStates } from "./states-io";

const PARQUET = "application/vnd.apache.parquet";

/** What the run's history version was built from, as written beside it; null when it was not written. */
export async function readChangesApplied(bucket: R2Bucket, historyKey: string): Promise<ChangesApplied | null> {
  const object = await bucket.get(layout.changesApplied(historyKey));
  return object ? ((await object.json()) as ChangesApplied) : null;
}

type ChangesPipeline = { name: string; columns: ColumnSpec[]; changes: ChangesDefinition };

/**
 * Write the run's tables from the latest published history and the run's changes (`changesKey`),
 * and the states of `gold` (datasets over the current table). Returns the files, the states and
 * what was applied (also written beside the history, as `applied.json`).
 */
export async function writeChangeTables(
  bucket: R2Bucket,
  pipeline: ChangesPipeline,
  version: OutputVersion,
  changesKey: string,
  gold: GoldDataset[] = [],
): Promise<{ files: OutputFile[]; applied: ChangesApplied; states: DatasetStates }> {
  const marker = await latestPublishedOfAnyWindow(bucket, `${pipeline.name}-history`);
  const result =
    (pipeline.changes.partitions ?? 1) > 1
      ? await byParts(bucket, pipeline, version, changesKey, gold, marker)
      : await whole(bucket, pipeline, version, changesKey, gold, marker);
  await bucket.put(layout.changesApplied(layout.goldDataset(pipeline.name, "history", version)), JSON.stringify(result.applied), {
    httpMetadata: { contentType: "application/json" },
  });
  return result;
}

const lineage = (marker: PublishedMarker | null) => (marker ? { runId: marker.runId, version: marker.version, key: marker.key, rows: marker.rows } : null);
const goldStates = (gold: GoldDataset[], current: Row[]): DatasetStates => Object.fromEntries(gold.map((d) => [d.name, statesOf(d, current)]));

async function whole(
  bucket: R2Bucket,
  pipeline: ChangesPipeline,
  version: OutputVersion,
  changesKey: string,
  gold: GoldDataset[],
  marker: PublishedMarker | null,
) {
  const c = pipeline.changes;
  const max = c.maxRows ?? HISTORY_MAX_ROWS;
  const read = async (key: string) => {
    const object = await bucket.get(key);
    if (!object) throw new TaskFailure({ type: "missing_input", message: `${key} is missing`, class: "permanent" });
    return readParquetRows(new Uint8Array(await object.arrayBuffer()));
  };
  if (marker && marker.rows > max) throw tooLarge(pipeline.name, marker.rows, max);
  const previous = marker ? await read(marker.key) : [];
  const changeRows = await read(changesKey);
  const tables = applyChanges(c, previous, changeRows);
  if (tables.history.length > max) throw tooLarge(pipeline.name, tables.history.length, max);
  const columns = changeTableColumns(pipeline.columns);
  const files: OutputFile[] = [];
  for (const name of CHANGE_TABLES) {
    const rows = tables[name];
    files.push(await putDone(bucket, layout.goldDataset(pipeline.name, name, version), await writeParquetRows(columns[name], rows), rows.length, PARQUET));
  }
  const applied: ChangesApplied = {
    previous: lineage(marker),
    changes: changeRows.length,
    added: tables.added,
    duplicates: tables.duplicates,
    history: tables.history.length,
    current: tables.current.length,
  };
  return { files, applied, states: goldStates(gold, tables.current) };
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

async function byParts(
  bucket: R2Bucket,
  pipeline: ChangesPipeline,
  version: OutputVersion,
  changesKey: string,
  gold: GoldDataset[],
  marker: PublishedMarker | null,
) {
  const c = pipeline.changes;
  const parts = c.partitions ?? 1;
  const max = c.maxRows ?? HISTORY_MAX_ROWS;
  const keyOf = changeKeyOf(c);
  const previous = marker ? await readFooter(bucket, marker.key) : null;
  const cut = marker ? (await readChangesApplied(bucket, marker.key))?.parts : undefined;
  // The previous history's row groups that hold part p: as it listed them, when cut the same way.
  const previousGroups = (p: number) =>
    !previous
      ? []
      : cut?.length === parts
        ? range(
            cut.slice(0, p).reduce((a, b) => a + b, 0),
            cut[p]!,
          )
        : range(0, previous.rowGroups);
  const changes = await readFooter(bucket, changesKey);
  /** Rows of `groups` whose key is in part p, a row group at a time. */
  const rowsOf = async (footer: ParquetFooter, groups: number[], p: number) => {
    const rows: Row[] = [];
    for (const g of groups)
      for (const row of await readParquetRows(await rowGroupsFile(bucket, footer, [g]))) if (partitionOf(keyOf(row), parts) === p) rows.push(row);
    return rows;
  };
  const columns = changeTableColumns(pipeline.columns);
  const written: Record<(typeof CHANGE_TABLES)[number], ParquetFooter[]> = { history: [], current: [] };
  const applied: ChangesApplied = { previous: lineage(marker), changes: changes.rows, added: 0, duplicates: 0, history: 0, current: 0, parts: [] };
  const states: DatasetStates = Object.fromEntries(gold.map((d) => [d.name, {}]));
  const folder = `${layout.goldDataset(pipeline.name, "history", version)}.parts`;
  try {
    for (let p = 0; p < parts; p++) {
      const before = await rowsOf(previous!, previousGroups(p), p);
      const tables = applyChanges(c, before, await rowsOf(changes, range(0, changes.rowGroups), p));
      if (tables.history.length > max) throw tooLarge(pipeline.name, tables.history.length, max, `part ${p} of ${parts}`);
      applied.added += tables.added;
      applied.duplicates += tables.duplicates;
      applied.history += tables.history.length;
      applied.current += tables.current.length;
      for (const d of gold) mergeStates(d, states[d.name]!, statesOf(d, tables.current));
      for (const name of CHANGE_TABLES) {
        const key = `${folder}/${name}-p${String(p).padStart(3, "0")}.parquet`;
        if (tables[name].length > 0) {
          await bucket.put(key, await writeParquetRows(columns[name], tables[name]));
          written[name].push(await readFooter(bucket, key));
        }
        if (name === "history") applied.parts!.push(tables[name].length > 0 ? written.history.at(-1)!.rowGroups : 0);
      }
    }
    const files: OutputFile[] = [];
    for (const name of CHANGE_TABLES) {
      const key = layout.goldDataset(pipeline.name, name, version);
      if (written[name].length === 0) {
        files.push(await putDone(bucket, key, await writeParquetRows(columns[name], []), 0, PARQUET));
        continue;
      }
      const result = await stitchParquetToR2(bucket, written[name], key);
      const file: OutputFile = { key, rows: result.rows, bytes: result.bytes, sha256: result.sha256 };
      await markDone(bucket, file);
      files.push(file);
    }
    return { files, applied, states };
  } finally {
    const temps = [...written.history, ...written.current].map((f) => f.key);
    if (temps.length > 0) await bucket.delete(temps);
  }
}

const tooLarge = (pipeline: string, rows: number, max: number, part?: string) =>
  new TaskFailure({
    type: "history_too_large",
    message: part
      ? `pipeline ${pipeline}: ${part} of the history would hold ${rows} rows; a part holds at most ${max} (changes.maxRows): raise changes.partitions`
      : `pipeline ${pipeline}: the history would hold ${rows} rows; the final merge holds at most ${max} (changes.maxRows), or split it with changes.partitions`,
    class: "permanent",
  });
