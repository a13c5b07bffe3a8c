// Current state and history from a stream of changes (SCD types 1 and 2). A pipeline whose silver
// rows are changes — inserts, updates and deletes of keyed rows, each with a sequence — declares
// `changes`, and every run writes two more gold datasets, new versions built from the latest
// published history and the run's changes (never in place):
//   history  every distinct change of every key, ordered by sequence, with `valid_from` (when it
//            took effect), `valid_to` (when the next change of the key did; null for the latest)
//            and `is_current` (the key's latest change, unless that is a delete)
//   current  each key's latest change, keys whose latest change is a delete left out
// The history keeps every change, deletes too, so a change that comes late (a lower sequence than
// changes already applied) is put in its place and the validity around it recomputed; a change
// whose key and sequence are already there is a duplicate and ignored (the one stored first
// stays). Applying runs in any order gives the same tables. The final merge writes them
// (src/gold/change-tables.ts): whole, or a part of the keys at a time with `partitions`.
import type { ColumnSpec, Row } from "../arrow/columns";
import { TaskFailure } from "../upstream/classify";
import { MAX_PARTITIONS } from "./partitions";

export interface ChangesDefinition {
  /** Columns that identify an entity: its changes share them. */
  key: string[];
  /** Orders the changes of one key: a number or timestamp column that grows as changes happen. */
  sequence: string;
  /** A timestamp column: when a change took effect (`valid_from`). Default: `sequence`, when it is a timestamp. */
  at?: string;
  /** The column saying what a change did, and the values of it that delete the key. */
  operation?: { column: string; deletes: string[] };
  /** Refuse a history (a part of it, with `partitions`) of more rows than this (default and at most HISTORY_MAX_ROWS). */
  maxRows?: number;
  /** Split the keys by a hash into this many parts (1–256, default 1), applied a part at a time: for millions of keys (src/gold/changes-parts.ts). */
  partitions?: number;
}

/** A run's lineage for its tables (in its manifest): the history it built on, and what it applied. */
export interface ChangesApplied {
  previous: { runId: string; version: string; key: string; rows: number } | null;
  /** The run's change rows; those new to the history; those it already had (repeats). */
  changes: number;
  added: number;
  duplicates: number;
  /** Rows of the new versions. */
  history: number;
  current: number;
  /** With `partitions`: how many of the history file's row groups each part has, in order (the next run reads its part's alone). */
  parts?: number[];
}

/** The datasets a pipeline with `changes` writes beside its output. */
export const CHANGE_TABLES = ["current", "history"] as const;
/** A history row held as objects costs about 0.75 KB (measured in V8 on sample-customers' rows): 50,000 of them fit a Worker's 128 MB with room for the Parquet on either side. */
export const HISTORY_MAX_ROWS = 50_000;
const VALIDITY: ColumnSpec[] = [
  { name: "valid_from", type: "timestamp", nullable: true },
  { name: "valid_to", type: "timestamp", nullable: true },
  { name: "is_current", type: "bool", nullable: false },
];

/** Every dataset name a pipeline writes beside its output: its gold datasets, and `current`/`history` with `changes`. */
export function datasetNames(p: { gold: { name: string }[]; changes: ChangesDefinition | null }): string[] {
  return [...p.gold.map((d) => d.name), ...(p.changes ? CHANGE_TABLES : [])];
}

const atColumn = (c: ChangesDefinition) => c.at ?? c.sequence;

/** Throws naming the pipeline when `changes` names a column silver does not have, or of the wrong type. */
export function checkChanges(pipeline: string, c: ChangesDefinition, silver: ColumnSpec[]): void {
  const where = `pipeline ${pipeline}, changes`;
  const type = (name: string) => silver.find((s) => s.name === name)?.type;
  if (c.key.length === 0) throw new Error(`${where}: a key of at least one column`);
  for (const k of c.key) if (!type(k)) throw new Error(`${where}: key column ${k} is not a silver column`);
  const seq = type(c.sequence);
  if (seq !== "int32" && seq !== "int64" && seq !== "float64" && seq !== "timestamp")
    throw new Error(`${where}: sequence column ${c.sequence} must be a number or timestamp silver column, not ${seq ?? "missing"}`);
  if (type(atColumn(c)) !== "timestamp") throw new Error(`${where}: at column ${atColumn(c)} must be a timestamp silver column (when a change took effect)`);
  if (c.operation && type(c.operation.column) !== "string") throw new Error(`${where}: operation column ${c.operation.column} must be a string silver column`);
  for (const v of VALIDITY) if (type(v.name)) throw new Error(`${where}: silver has a column ${v.name}, which the history adds`);
  const max = c.maxRows ?? HISTORY_MAX_ROWS;
  if (!Number.isInteger(max) || max < 1 || max > HISTORY_MAX_ROWS) throw new Error(`${where}: maxRows must be 1..${HISTORY_MAX_ROWS}, not ${max}`);
  const parts = c.partitions ?? 1;
  if (!Number.isInteger(parts) || parts < 1 || parts > MAX_PARTITIONS)
    throw new Error(`${where}: partitions must be a whole number from 1 to ${MAX_PARTITIONS}, not ${parts}`);
}

export function changeTableColumns(silver: ColumnSpec[]): Record<(typeof CHANGE_TABLES)[number], ColumnSpec[]> {
  return { current: [...silver, VALIDITY[0]!], history: [...silver, ...VALIDITY] };
}

const comparable = (v: unknown): number | string | null =>
  v === null || v === undefined ? null : v instanceof Date ? v.getTime() : typeof v === "number" ? v : String(v);

/**
 * The tables after `changes`, from the history before them. Rows are not copied: each key's rows
 * get their validity set in place and the current table shares the history's objects (it writes
 * fewer columns), so the history held is the memory used.
 */
/** A change's key, as one string: what its changes share. */
export const changeKeyOf = (c: ChangesDefinition) => (row: Row) => JSON.stringify(c.key.map((k) => comparable(row[k])));

export function applyChanges(c: ChangesDefinition, previous: Row[], changes: Row[]) {
  const keyOf = changeKeyOf(c);
  const seqOf = (row: Row) => {
    const seq = comparable(row[c.sequence]);
    if (seq === null) throw new TaskFailure({ type: "invalid_change", message: `a change of ${keyOf(row)} has no ${c.sequence}`, class: "permanent" });
    return seq;
  };
  const byKey = new Map<string, Row[]>();
  for (const row of previous) {
    const key = keyOf(row);
    const rows = byKey.get(key);
    if (rows) rows.push(row);
    else byKey.set(key, [row]);
  }
  let added = 0;
  let duplicates = 0;
  for (const row of changes) {
    const key = keyOf(row);
    const seq = seqOf(row);
    const rows = byKey.get(key);
    if (rows?.some((r) => seqOf(r) === seq)) duplicates++;
    else {
      if (rows) rows.push(row);
      else byKey.set(key, [row]);
      added++;
    }
  }
  const deletes = new Set(c.operation?.deletes ?? []);
  const isDelete = (row: Row) => c.operation !== undefined && deletes.has(String(row[c.operation.column]));
  const history: Row[] = [];
  const current: Row[] = [];
  for (const key of [...byKey.keys()].sort()) {
    const rows = byKey.get(key)!.sort((a, b) => {
      const [x, y] = [seqOf(a), seqOf(b)];
      return x < y ? -1 : x > y ? 1 : 0;
    });
    rows.forEach((row, i) => {
      const next = rows[i + 1];
      row.valid_from = row[atColumn(c)] ?? null;
      row.valid_to = next ? (next[atColumn(c)] ?? null) : null;
      row.is_current = !next && !isDelete(row);
      history.push(row);
      if (row.is_current) current.push(row);
    });
  }
  return { history, current, added, duplicates };
}
