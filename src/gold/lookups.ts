// Lookups: a gold dataset's rows enriched by key from a small dimension — another pipeline's
// latest published output, read whole by the final merge (a broadcast join: every gold row looks
// its key up in one in-memory table). The dimension is refused past its size bound rather than
// read into a task that cannot hold it; a key it does not have leaves the added columns null
// (a left join). Column types come from the dimension pipeline's silver columns.
import type { ColumnSpec, Row } from "../arrow/columns";
import { readParquetRows } from "../parquet/read";
import { latestPublished, latestPublishedOfAnyWindow } from "../r2/done";
import type { RunWindow } from "../pipelines/windows";
import { TaskFailure } from "../upstream/classify";

/** The most rows a dimension may have, and the default bound. */
export const LOOKUP_MAX_ROWS = 100_000;
/** The most bytes of Parquet a dimension may have. */
export const LOOKUP_MAX_BYTES = 32 * 1024 * 1024;
/** The window a snapshot dimension (a pipeline without `from`/`to` params) publishes under. */
export const SNAPSHOT_WINDOW: RunWindow = { name: "all", hive: "window=all" };

export interface Lookup {
  /** The dimension: a pipeline whose published output is read (pass the pipeline itself). */
  from: { name: string; columns: ColumnSpec[]; changes?: unknown };
  /** Read the dimension's `current` table (a pipeline fed by changes) instead of its output. */
  dataset?: "current";
  /** The gold dataset's group-by column whose value is looked up. */
  on: string;
  /** The dimension's key column (default: the same name as `on`). */
  key?: string;
  /** Dimension columns added to every row, after the group and bucket columns. */
  columns: string[];
  /** The dimension's version read: of window `all` (a snapshot: the default), of the run's own window (`same`), or the last published of any window (`latest`). */
  window?: "all" | "same" | "latest";
  /** Refuse a dimension with more rows than this (default and at most LOOKUP_MAX_ROWS). */
  maxRows?: number;
}

/** The dimension's values by key, as the final merge holds them. */
export type LookupTable = Map<string, Row>;

const keyOf = (v: unknown) => JSON.stringify(v instanceof Date ? v.getTime() : (v ?? null));

/** The columns a lookup adds, typed as the dimension has them (nullable: a key may be missing). */
export function lookupColumns(l: Lookup): ColumnSpec[] {
  return l.columns.map((name) => {
    const c = l.from.columns.find((s) => s.name === name);
    if (!c) throw new Error(`lookup from ${l.from.name}: no column ${name}`);
    return { ...c, nullable: true };
  });
}

/** Throws naming the dataset when the lookup names a column that does not exist or a bound past the limit. */
export function checkLookup(where: string, l: Lookup, groupBy: string[]): void {
  const has = (c: string) => l.from.columns.some((s) => s.name === c);
  if (!groupBy.includes(l.on)) throw new Error(`${where}: lookup on ${l.on}, which is not a groupBy column`);
  if (!has(l.key ?? l.on)) throw new Error(`${where}: lookup key ${l.key ?? l.on} is not a column of ${l.from.name}`);
  if (l.columns.length === 0) throw new Error(`${where}: a lookup adds at least one column`);
  if (l.dataset === "current" && !l.from.changes) throw new Error(`${where}: lookup of ${l.from.name}'s current table, but ${l.from.name} declares no changes`);
  for (const c of l.columns) if (!has(c)) throw new Error(`${where}: lookup column ${c} is not a column of ${l.from.name}`);
  const max = l.maxRows ?? LOOKUP_MAX_ROWS;
  if (!Number.isInteger(max) || max < 1 || max > LOOKUP_MAX_ROWS) throw new Error(`${where}: lookup maxRows must be 1..${LOOKUP_MAX_ROWS}, not ${max}`);
}

/** Read the dimension's latest published version of its window: refused when none passed quality, or when it is past its bound. */
export async function loadLookup(bucket: R2Bucket, l: Lookup, runWindow: RunWindow): Promise<LookupTable> {
  const window = l.window === "same" ? runWindow : SNAPSHOT_WINDOW;
  const dataset = l.dataset ? `${l.from.name}-${l.dataset}` : l.from.name;
  const marker = l.window === "latest" ? await latestPublishedOfAnyWindow(bucket, dataset) : await latestPublished(bucket, dataset, window);
  if (!marker)
    throw new TaskFailure({
      type: "lookup_unavailable",
      message: `lookup from ${dataset}: no published version${l.window === "latest" ? "" : ` for window ${window.name}`} (run ${l.from.name} first)`,
      class: "permanent",
    });
  const max = l.maxRows ?? LOOKUP_MAX_ROWS;
  if (marker.rows > max || marker.bytes > LOOKUP_MAX_BYTES)
    throw new TaskFailure({
      type: "lookup_too_large",
      message: `lookup from ${dataset}: ${marker.version} has ${marker.rows} rows (${marker.bytes} bytes); a lookup holds at most ${max} rows and ${LOOKUP_MAX_BYTES / 1_048_576} MiB`,
      class: "permanent",
    });
  const object = await bucket.get(marker.key);
  if (!object) throw new TaskFailure({ type: "lookup_unavailable", message: `lookup from ${dataset}: ${marker.key} is missing`, class: "permanent" });
  const table: LookupTable = new Map();
  const key = l.key ?? l.on;
  for (const row of await readParquetRows(new Uint8Array(await object.arrayBuffer()))) {
    table.set(keyOf(row[key]), Object.fromEntries(l.columns.map((c) => [c, row[c] ?? null])));
  }
  return table;
}

/** The lookup's columns for a row whose `on` value is `value`: null when the dimension does not have it. */
export function lookedUp(l: Lookup, table: LookupTable, value: unknown): Row {
  const found = table.get(keyOf(value));
  return Object.fromEntries(l.columns.map((c) => [c, found?.[c] ?? null]));
}
