// Writing a run's `current` and `history` versions (src/gold/changes.ts says what they hold): from
// the latest published history and the run's changes (its merged silver output), never in place.
// Whole, the final merge holds the history at once, up to `maxRows`. With `partitions` the keys
// are split by a hash into parts, applied one part at a time: the previous history's part (its row
// groups, as that version's `applied.json` lists them) and the part's changes. The run's changes
// (and a previous history written whole or cut another way) are cut into the parts first, in one
// pass a row group at a time, each part's rows of a row group spilled to a file of their own (an
// Arrow IPC stream: the same task reads it back once, so it is not encoded as Parquet). Each part's
// rows become row groups of the two files (joined without decoding), so a task holds one part of
// the history, `maxRows` at most, and one row group of the changes, whatever the number of keys.
import { tableFromIPC, tableToIPC } from "apache-arrow";
import { rowsToTable, type ColumnSpec, type Row } from "../arrow/columns";
import { tableToRows } from "../arrow/table-rows";
import { writeParquetRows } from "../parquet/write";
import { readParquetRows } from "../parquet/read";
import { readFooter, rowGroupsFile, type ParquetFooter } from "../parquet/stitch";
import { partedFile } from "../parquet/write-parts";
import { latestPublishedOfAnyWindow, putDone, type PublishedMarker } from "../r2/done";
import { layout } from "../r2/layout";
import type { OutputFile, OutputVersion } from "../types";
import { TaskFailure } from "../upstream/classify";
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
  const step: Step = { bucket, pipeline, version, changesKey, gold, marker: await latestPublishedOfAnyWindow(bucket, `${pipeline.name}-history`) };
  const result = (pipeline.changes.partitions ?? 1) > 1 ? await byParts(step) : await whole(step);
  await bucket.put(layout.changesApplied(layout.goldDataset(pipeline.name, "history", version)), JSON.stringify(result.applied), {
    httpMetadata: { contentType: "application/json" },
  });
  return result;
}

const lineage = (marker: PublishedMarker | null) => (marker ? { runId: marker.runId, version: marker.version, key: marker.key, rows: marker.rows } : null);
const goldStates = (gold: GoldDataset[], current: Row[]): DatasetStates => Object.fromEntries(gold.map((d) => [d.name, statesOf(d, current)]));

/** One run's change-table step: its tables' pipeline and version, its changes, the datasets over its current table, the history it builds on. */
interface Step {
  bucket: R2Bucket;
  pipeline: ChangesPipeline;
  version: OutputVersion;
  changesKey: string;
  gold: GoldDataset[];
  marker: PublishedMarker | null;
}

async function whole({ bucket, pipeline, version, changesKey, gold, marker }: Step) {
  const c = pipeline.changes;
  const max = c.maxRows ?? HISTORY_MAX_ROWS;
  if (marker && marker.rows > max) throw tooLarge(pipeline.name, marker.rows, max);
  const previous = marker ? await rowsAt(bucket, marker.key) : [];
  const changeRows = await rowsAt(bucket, changesKey);
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

/** An object's bytes; a missing one fails the task for good. */
async function bytesAt(bucket: R2Bucket, key: string): Promise<Uint8Array> {
  const object = await bucket.get(key);
  if (!object) throw new TaskFailure({ type: "missing_input", message: `${key} is missing`, class: "permanent" });
  return new Uint8Array(await object.arrayBuffer());
}

const rowsAt = async (bucket: R2Bucket, key: string): Promise<Row[]> => readParquetRows(await bytesAt(bucket, key));
/** A spill file's rows: an Arrow IPC stream, read back once by the task that wrote it, so neither compressed nor checked as Parquet is. */
const spilledRowsAt = async (bucket: R2Bucket, key: string): Promise<Row[]> => tableToRows(tableFromIPC(await bytesAt(bucket, key)));

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

async function byParts({ bucket, pipeline, version, changesKey, gold, marker }: Step) {
  const c = pipeline.changes;
  const parts = c.partitions ?? 1;
  const max = c.maxRows ?? HISTORY_MAX_ROWS;
  const keyOf = changeKeyOf(c);
  const previous = marker ? await readFooter(bucket, marker.key) : null;
  const cut = marker ? (await readChangesApplied(bucket, marker.key))?.parts : undefined;
  const changes = await readFooter(bucket, changesKey);
  const columns = changeTableColumns(pipeline.columns);
  const folder = `${layout.goldDataset(pipeline.name, "history", version)}.cut`;
  const temps: string[] = [];
  /**
   * A file's rows cut into the parts in one pass, a row group at a time: each part's rows of a
   * row group go to a file of their own (deleted after). Returns each part's files.
   */
  const cutIntoParts = async (footer: ParquetFooter, fileColumns: ColumnSpec[], tag: string) => {
    const files: string[][] = Array.from({ length: parts }, () => []);
    for (let g = 0; g < footer.rowGroups; g++) {
      const byPart: Row[][] = Array.from({ length: parts }, () => []);
      for (const row of await readParquetRows(await rowGroupsFile(bucket, footer, [g]))) byPart[partitionOf(keyOf(row), parts)]!.push(row);
      for (const [p, rows] of byPart.entries()) {
        if (rows.length === 0) continue;
        const key = `${folder}/${tag}-p${pad(p)}-g${pad(g)}.arrows`;
        temps.push(key);
        await bucket.put(key, tableToIPC(rowsToTable(fileColumns, rows), "stream"));
        files[p]!.push(key);
      }
    }
    return files;
  };
  const readAll = async (keys: string[]) => {
    const rows: Row[] = [];
    for (const key of keys) for (const row of await spilledRowsAt(bucket, key)) rows.push(row);
    return rows;
  };
  const applied: ChangesApplied = { previous: lineage(marker), changes: changes.rows, added: 0, duplicates: 0, history: 0, current: 0, parts: [] };
  const states: DatasetStates = Object.fromEntries(gold.map((d) => [d.name, {}]));
  const tables = {
    history: partedFile(bucket, layout.goldDataset(pipeline.name, "history", version), columns.history),
    current: partedFile(bucket, layout.goldDataset(pipeline.name, "current", version), columns.current),
  };
  try {
    const changeParts = await cutIntoParts(changes, pipeline.columns, "changes");
    // The previous history's part p: its own row groups, as it listed them when cut the same way;
    // otherwise (written whole, or cut another way) it is cut here too.
    const previousParts = previous && cut?.length !== parts ? await cutIntoParts(previous, columns.history, "previous") : null;
    let group = 0;
    for (let p = 0; p < parts; p++) {
      let before: Row[] = [];
      if (previousParts) before = await readAll(previousParts[p]!);
      else if (previous && cut) {
        before = cut[p]! > 0 ? await readParquetRows(await rowGroupsFile(bucket, previous, range(group, cut[p]!))) : [];
        group += cut[p]!;
      }
      const part = applyChanges(c, before, await readAll(changeParts[p]!));
      if (part.history.length > max) throw tooLarge(pipeline.name, part.history.length, max, `part ${p} of ${parts}`);
      applied.added += part.added;
      applied.duplicates += part.duplicates;
      applied.history += part.history.length;
      applied.current += part.current.length;
      for (const d of gold) mergeStates(d, states[d.name]!, statesOf(d, part.current));
      applied.parts!.push(await tables.history.add(part.history));
      await tables.current.add(part.current);
    }
    const files: OutputFile[] = [];
    for (const name of CHANGE_TABLES) files.push(await tables[name].finish());
    return { files, applied, states };
  } finally {
    for (let i = 0; i < temps.length; i += 1000) await bucket.delete(temps.slice(i, i + 1000));
    for (const name of CHANGE_TABLES) await tables[name].discard();
  }
}

const pad = (n: number) => String(n).padStart(3, "0");

const tooLarge = (pipeline: string, rows: number, max: number, part?: string) =>
  new TaskFailure({
    type: "history_too_large",
    message: part
      ? `pipeline ${pipeline}: ${part} of the history would hold ${rows} rows; a part holds at most ${max} (changes.maxRows): raise changes.partitions`
      : `pipeline ${pipeline}: the history would hold ${rows} rows; the final merge holds at most ${max} (changes.maxRows), or split it with changes.partitions`,
    class: "permanent",
  });
