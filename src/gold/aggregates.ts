// Gold datasets: a group-by over silver columns, with an optional time bucket, and exact
// aggregates. They are computed where the rows already flow: each silver task keeps the partial
// state of every group of its batch, each merge task combines its inputs' states, and the final
// merge turns them into rows — so no task holds more than its groups' states, whatever the row
// count. Variance uses Chan et al.'s pairwise update (count, mean, M2), exact to rounding in any
// merge order; sums are float64 sums (their last bits depend on the order of addition).
import type { ColumnSpec, ColumnType, Row } from "../arrow/columns";
import type { Json } from "../types";
import { unitStart, type Bucket } from "../pipelines/windows";
import { addToSketch, estimate, mergeSketches, newSketch, sketchFromText, sketchToText } from "./hll";
import { addToKll, mergeKll, newKll, quantileOfKll, type Kll } from "./kll";
import { lookedUp, lookupColumns, type Lookup, type LookupTable } from "./lookups";

/** Distinct values are counted exactly up to this many per group, then by HyperLogLog (±1.6%, src/gold/hll.ts). */
export const DISTINCT_EXACT = 1000;

export type { Bucket } from "../pipelines/windows";

export type Aggregate =
  | { fn: "count" }
  | { fn: "countNonNull" | "sum" | "min" | "max" | "mean" | "variance" | "stddev"; column: string }
  | { fn: "first" | "last"; column: string; by: string }
  /** Exact up to DISTINCT_EXACT values per group, then a HyperLogLog estimate (standard error 1.6%). */
  | { fn: "distinct"; column: string }
  /** The value at rank q (0 < q ≤ 1: 0.5 is the median) of a numeric column: exact up to 200 values per group, then within 2% of rank (src/gold/kll.ts). */
  | { fn: "quantile"; column: string; q: number }
  /** Your own, in TypeScript: a JSON state that rows are added to and states merge into, in any order. */
  | { fn: "custom"; type: ColumnType; init(): Json; add(state: Json, row: Row): Json; merge(a: Json, b: Json): Json; finish(state: Json): unknown };

export interface GoldDataset {
  /** Names the dataset: `gold/dataset=<pipeline>-<name>/…`. */
  name: string;
  /** Silver columns whose values make a group. */
  groupBy: string[];
  /** A timestamp column cut to the start of its hour, day, ISO week, month, quarter or year (UTC), as a column `as` (default the column's name). */
  bucket?: { column: string; unit: Bucket; as?: string };
  /** Output column → aggregate. */
  aggregates: Record<string, Aggregate>;
  /** Only the rows this keeps are counted (default: all): `(r) => r.status !== "cancelled"`. */
  where?: (row: Row) => boolean;
  /**
   * What is aggregated: the run's silver rows (default), through the merge tree; or, for a
   * pipeline fed by changes, its `current` table after the run (one row per key, latest state),
   * by the final merge that writes it.
   */
  over?: "silver" | "current";
  /** Columns added from a small dimension by one of the group-by columns (src/gold/lookups.ts). */
  lookup?: Lookup;
  /** Split the groups by a hash of their key into this many parts (1–256, default 1), each combined on its own: for millions of groups (src/gold/partitions.ts). */
  partitions?: number;
}

/** One aggregate's partial state. */
type State =
  | { n: number } // count, countNonNull
  | { s: number; n: number } // sum (n: non-null values seen), mean
  | { v: number | string | null } // min, max
  | { n: number; mean: number; m2: number } // variance, stddev
  | { at: number | string | null; v: unknown } // first, last (at: the `by` value)
  | { values: (number | string)[] | null; hll: string | null } // distinct: exact values, or the sketch
  | { kll: Kll } // quantile
  | { c: Json }; // custom

/** Every group's states: the group key (JSON of its values) → one state per aggregate, in declaration order. */
export type States = Record<string, State[]>;

const comparable = (v: unknown): number | string | null =>
  v === null || v === undefined ? null : v instanceof Date ? v.getTime() : typeof v === "number" ? v : String(v);

function initial(a: Aggregate): State {
  switch (a.fn) {
    case "count":
    case "countNonNull":
      return { n: 0 };
    case "sum":
    case "mean":
      return { s: 0, n: 0 };
    case "min":
    case "max":
      return { v: null };
    case "variance":
    case "stddev":
      return { n: 0, mean: 0, m2: 0 };
    case "first":
    case "last":
      return { at: null, v: null };
    case "distinct":
      return { values: [], hll: null };
    case "quantile":
      return { kll: newKll() };
    case "custom":
      return { c: a.init() };
  }
}

type DistinctState = { values: (number | string)[] | null; hll: string | null };

/** Sketches being updated, by state: decoded once, written back to `hll` by `sealed()`. */
const sketches = new WeakMap<DistinctState, Uint8Array>();

/** A distinct state's values (or sketch) as a sketch, kept decoded while the states are worked on. */
function sketchOf(s: DistinctState): Uint8Array {
  const cached = sketches.get(s);
  if (cached) return cached;
  const registers = s.hll !== null ? sketchFromText(s.hll) : newSketch();
  if (s.hll === null) for (const v of s.values ?? []) addToSketch(registers, JSON.stringify(v));
  sketches.set(s, registers);
  return registers;
}

/** The states with the sketches of `keys` (default all groups) written back into their text, ready to store. */
function sealed(d: GoldDataset, states: States, keys: Iterable<string> = Object.keys(states)): States {
  const distinct = entries(d).flatMap(([, a], i) => (a.fn === "distinct" ? [i] : []));
  if (distinct.length === 0) return states;
  for (const key of keys) {
    const group = states[key]!;
    for (const i of distinct) {
      const s = group[i] as DistinctState;
      const registers = sketches.get(s);
      if (registers && s.values === null) s.hll = sketchToText(registers);
    }
  }
  return states;
}

function add(a: Aggregate, state: State, row: Row): void {
  if (a.fn === "count") return void ((state as { n: number }).n += 1);
  if (a.fn === "custom") return void ((state as { c: Json }).c = a.add((state as { c: Json }).c, row));
  const value = row[a.column];
  if (value === null || value === undefined) return;
  switch (a.fn) {
    case "countNonNull":
      (state as { n: number }).n += 1;
      return;
    case "sum":
    case "mean": {
      const s = state as { s: number; n: number };
      s.s += Number(value);
      s.n += 1;
      return;
    }
    case "min":
    case "max": {
      const s = state as { v: number | string | null };
      const v = comparable(value);
      if (s.v === null || (a.fn === "min" ? v! < s.v : v! > s.v)) s.v = v;
      return;
    }
    case "variance":
    case "stddev":
      merge(a, state, { n: 1, mean: Number(value), m2: 0 });
      return;
    case "quantile": {
      const v = Number(value);
      if (Number.isFinite(v)) addToKll((state as { kll: Kll }).kll, v);
      return;
    }
    case "distinct": {
      const s = state as DistinctState;
      const v = comparable(value)!;
      if (s.values === null) addToSketch(sketchOf(s), JSON.stringify(v));
      else if (!s.values.includes(v)) {
        s.values.push(v);
        if (s.values.length > DISTINCT_EXACT) {
          sketchOf(s); // from the values, before they go
          s.values = null;
        }
      }
      return;
    }
    case "first":
    case "last": {
      const s = state as { at: number | string | null; v: unknown };
      const at = comparable(row[a.by]);
      if (at === null) return;
      if (s.at === null || (a.fn === "first" ? at < s.at : at > s.at)) {
        s.at = at;
        s.v = comparable(value);
      }
    }
  }
}

/** Fold `other` into `state` (same aggregate). */
function merge(a: Aggregate, state: State, other: State): void {
  switch (a.fn) {
    case "count":
    case "countNonNull":
      (state as { n: number }).n += (other as { n: number }).n;
      return;
    case "sum":
    case "mean": {
      const s = state as { s: number; n: number };
      const o = other as { s: number; n: number };
      s.s += o.s;
      s.n += o.n;
      return;
    }
    case "min":
    case "max": {
      const s = state as { v: number | string | null };
      const o = (other as { v: number | string | null }).v;
      if (o !== null && (s.v === null || (a.fn === "min" ? o < s.v : o > s.v))) s.v = o;
      return;
    }
    case "variance":
    case "stddev": {
      const s = state as { n: number; mean: number; m2: number };
      const o = other as { n: number; mean: number; m2: number };
      if (o.n === 0) return;
      const n = s.n + o.n;
      const delta = o.mean - s.mean;
      s.mean += (delta * o.n) / n;
      s.m2 += o.m2 + (delta * delta * s.n * o.n) / n;
      s.n = n;
      return;
    }
    case "distinct": {
      const s = state as DistinctState;
      const o = other as DistinctState;
      if (s.values !== null && o.values !== null) {
        const union = new Set([...s.values, ...o.values]);
        if (union.size <= DISTINCT_EXACT) return void (s.values = [...union]);
      }
      mergeSketches(sketchOf(s), sketchOf(o));
      s.values = null;
      return;
    }
    case "custom": {
      const s = state as { c: Json };
      s.c = a.merge(s.c, (other as { c: Json }).c);
      return;
    }
    case "quantile":
      mergeKll((state as { kll: Kll }).kll, (other as { kll: Kll }).kll);
      return;
    case "first":
    case "last": {
      const s = state as { at: number | string | null; v: unknown };
      const o = other as { at: number | string | null; v: unknown };
      if (o.at !== null && (s.at === null || (a.fn === "first" ? o.at < s.at : o.at > s.at))) {
        s.at = o.at;
        s.v = o.v;
      }
    }
  }
}

function result(a: Aggregate, state: State): unknown {
  switch (a.fn) {
    case "count":
    case "countNonNull":
      return (state as { n: number }).n;
    case "sum": {
      const s = state as { s: number; n: number };
      return s.n === 0 ? null : s.s;
    }
    case "mean": {
      const s = state as { s: number; n: number };
      return s.n === 0 ? null : s.s / s.n;
    }
    case "min":
    case "max":
      return (state as { v: unknown }).v;
    case "variance":
    case "stddev": {
      // Sample variance (n − 1), as SQL's VARIANCE and STDDEV.
      const s = state as { n: number; m2: number };
      if (s.n < 2) return null;
      const variance = s.m2 / (s.n - 1);
      return a.fn === "variance" ? variance : Math.sqrt(variance);
    }
    case "first":
    case "last":
      return (state as { v: unknown }).v;
    case "distinct": {
      const s = state as DistinctState;
      return s.values !== null ? s.values.length : Math.round(estimate(sketchOf(s)));
    }
    case "custom":
      return a.finish((state as { c: Json }).c);
    case "quantile":
      return quantileOfKll((state as { kll: Kll }).kll, a.q);
  }
}

export const entries = (d: GoldDataset) => Object.entries(d.aggregates);
export const bucketName = (d: GoldDataset) => (d.bucket ? (d.bucket.as ?? d.bucket.column) : null);

/** The group of a row: its group-by values and its bucket, as a JSON key. */
function groupKey(d: GoldDataset, row: Row): string {
  const values: unknown[] = d.groupBy.map((c) => comparable(row[c]));
  if (d.bucket) {
    const at = comparable(row[d.bucket.column]);
    values.push(typeof at === "number" ? unitStart(at, d.bucket.unit) : null);
  }
  return JSON.stringify(values);
}

/** The datasets aggregated over silver rows (the merge tree's), and those over the current table. */
export const overSilver = (datasets: GoldDataset[]) => datasets.filter((d) => d.over !== "current");
export const overCurrent = (datasets: GoldDataset[]) => datasets.filter((d) => d.over === "current");

/** The states of a batch's rows. */
export function statesOf(d: GoldDataset, rows: Iterable<Row>): States {
  const states: States = {};
  const aggs = entries(d).map(([, a]) => a);
  for (const row of rows) {
    if (d.where && !d.where(row)) continue;
    const key = groupKey(d, row);
    const group = (states[key] ??= aggs.map(initial));
    aggs.forEach((a, i) => add(a, group[i]!, row));
  }
  return sealed(d, states);
}

/** Fold `other`'s groups into `into`. */
export function mergeStates(d: GoldDataset, into: States, other: States): States {
  const aggs = entries(d).map(([, a]) => a);
  for (const [key, group] of Object.entries(other)) {
    const mine = into[key];
    if (!mine) into[key] = group;
    else aggs.forEach((a, i) => merge(a, mine[i]!, group[i]!));
  }
  // Only the groups this merge touched changed: re-encoding every sketch at each input would cost groups × inputs.
  return sealed(d, into, Object.keys(other));
}

/** The dataset's columns: the group-by columns as silver has them, the bucket (timestamp), the lookup's, the aggregates. */
export function goldColumns(d: GoldDataset, silver: ColumnSpec[]): ColumnSpec[] {
  const typeOf = (name: string): ColumnType => {
    const c = silver.find((s) => s.name === name);
    if (!c) throw new Error(`gold dataset ${d.name}: no silver column ${name}`);
    return c.type;
  };
  const columns: ColumnSpec[] = d.groupBy.map((name) => ({ name, type: typeOf(name), nullable: true }));
  if (d.bucket) columns.push({ name: bucketName(d)!, type: "timestamp", nullable: true });
  if (d.lookup) columns.push(...lookupColumns(d.lookup));
  for (const [name, a] of entries(d)) {
    const type: ColumnType =
      a.fn === "custom"
        ? a.type
        : a.fn === "count" || a.fn === "countNonNull" || a.fn === "distinct"
          ? "int64"
          : a.fn === "min" || a.fn === "max" || a.fn === "first" || a.fn === "last"
            ? typeOf(a.column)
            : "float64";
    columns.push({ name, type, nullable: a.fn !== "count" && a.fn !== "countNonNull" && a.fn !== "distinct" });
  }
  return columns;
}

/** The dataset's rows from its states, sorted by group; `lookup`: the dimension's table when the dataset has a lookup. */
export function goldRows(d: GoldDataset, silver: ColumnSpec[], states: States, lookup?: LookupTable): Row[] {
  const columns = goldColumns(d, silver);
  const isTime = new Set(columns.filter((c) => c.type === "timestamp").map((c) => c.name));
  const value = (name: string, v: unknown) => (v !== null && v !== undefined && isTime.has(name) ? new Date(v as number) : v);
  return Object.keys(states)
    .sort()
    .map((key) => {
      const values = JSON.parse(key) as unknown[];
      const row: Row = {};
      d.groupBy.forEach((c, i) => (row[c] = value(c, values[i])));
      if (d.bucket) row[bucketName(d)!] = value(bucketName(d)!, values[d.groupBy.length]);
      if (d.lookup) {
        if (!lookup) throw new Error(`gold dataset ${d.name}: its lookup's table was not loaded`);
        for (const [c, v] of Object.entries(lookedUp(d.lookup, lookup, row[d.lookup.on]))) row[c] = value(c, v);
      }
      entries(d).forEach(([name, a], i) => (row[name] = value(name, result(a, states[key]![i]!))));
      return row;
    });
}
