// A column's values read out of row objects into typed arrays, one property load per value, with
// a null bitmap: what both the Arrow builder (columns.ts) and sluice's Parquet encoder
// (src/parquet/encode) start from. Strings stay JavaScript strings here; each consumer encodes
// only what it needs (Arrow every value, the encoder a dictionary's entries).
import type { ColumnSpec, Row } from "./columns";

interface Common {
  length: number;
  nulls: number;
  /** A bit a row, LSB first: 1 where the row holds a value. */
  validity: Uint8Array;
}

export type ColumnValues = Common &
  (
    | { kind: "float64"; values: Float64Array }
    | { kind: "int32"; values: Int32Array }
    /** int64 and timestamps (epoch milliseconds) */
    | { kind: "int64"; values: BigInt64Array }
    | { kind: "bool"; bits: Uint8Array }
    /** undefined where null */
    | { kind: "string"; texts: (string | undefined)[] }
  );

/** 2^32: a 64-bit integer's high half is worth this many of its low half. */
export const TWO_32 = 4_294_967_296;

/** A column's null bitmap, filled in the same pass that reads its values (one property load per value). */
class Validity {
  readonly bitmap: Uint8Array;
  nulls = 0;
  constructor(length: number) {
    this.bitmap = new Uint8Array((length + 7) >> 3);
  }
  /** Marks row i valid; counts a null otherwise. Returns whether v is a value. */
  mark(i: number, v: unknown): boolean {
    if (v === null || v === undefined) {
      this.nulls++;
      return false;
    }
    this.bitmap[i >> 3]! |= 1 << (i & 7);
    return true;
  }
}

function timestampMillis(v: unknown, column: string): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === "number") return Math.trunc(v);
  if (typeof v === "bigint") return Number(v);
  throw new TypeError(`column ${column}: expected a Date, got ${typeof v}`);
}

/** 64-bit integers written as two 32-bit halves, no BigInt per number (bigints are taken as they are). */
function int64Data(rows: readonly Row[], name: string, valid: Validity, toNumber: (v: unknown) => number): BigInt64Array {
  const out = new BigInt64Array(rows.length);
  const halves = new Uint32Array(out.buffer);
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i]![name];
    if (!valid.mark(i, v)) continue;
    if (typeof v === "bigint") {
      out[i] = v;
      continue;
    }
    const n = toNumber(v);
    if (!Number.isSafeInteger(n)) throw new TypeError(`${String(v)} is not a safe 64-bit integer`);
    const high = Math.floor(n / TWO_32);
    halves[2 * i] = n - high * TWO_32; // little-endian: low word first
    halves[2 * i + 1] = high >>> 0;
  }
  return out;
}

function float64Data(rows: readonly Row[], name: string, valid: Validity): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i]![name];
    if (valid.mark(i, v)) out[i] = typeof v === "number" ? v : Number(v);
  }
  return out;
}

function int32Data(rows: readonly Row[], name: string, valid: Validity): Int32Array {
  const out = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i]![name];
    if (valid.mark(i, v)) out[i] = Number(v);
  }
  return out;
}

function boolData(rows: readonly Row[], name: string, valid: Validity): Uint8Array {
  const bits = new Uint8Array((rows.length + 7) >> 3);
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i]![name];
    if (valid.mark(i, v) && v === true) bits[i >> 3]! |= 1 << (i & 7);
  }
  return bits;
}

/** The strings, undefined where null (non-strings as String(v)). */
function stringValues(rows: readonly Row[], name: string, valid: Validity): (string | undefined)[] {
  const texts: (string | undefined)[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i]![name];
    if (valid.mark(i, v)) texts[i] = typeof v === "string" ? v : String(v);
  }
  return texts;
}

/** One column of the rows. Values must already match the column's type; a null in a required column throws. */
export function readColumn(spec: ColumnSpec, rows: readonly Row[]): ColumnValues {
  const name = spec.name;
  const valid = new Validity(rows.length);
  const column = ((): ColumnValues => {
    const common = { length: rows.length, nulls: 0, validity: valid.bitmap };
    switch (spec.type) {
      case "string":
        return { ...common, kind: "string", texts: stringValues(rows, name, valid) };
      case "float64":
        return { ...common, kind: "float64", values: float64Data(rows, name, valid) };
      case "int32":
        return { ...common, kind: "int32", values: int32Data(rows, name, valid) };
      case "int64":
        return { ...common, kind: "int64", values: int64Data(rows, name, valid, (v) => Number(v as number | bigint)) };
      case "bool":
        return { ...common, kind: "bool", bits: boolData(rows, name, valid) };
      case "timestamp":
        return { ...common, kind: "int64", values: int64Data(rows, name, valid, (v) => timestampMillis(v, name)) };
    }
  })();
  column.nulls = valid.nulls;
  if (valid.nulls > 0 && !spec.nullable) throw new TypeError(`column ${name} is not nullable but has ${valid.nulls} nulls`);
  return column;
}
