// Zod row schema → Arrow column specs, and rows → Arrow record batches built with makeData.
// apache-arrow's builders generate code with `new Function`, which workerd forbids, so every
// vector here is assembled from typed arrays.
import {
  Bool,
  Field,
  Float64,
  Int32,
  Int64,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMillisecond,
  Utf8,
  makeData,
  type Data,
  type DataType,
} from "apache-arrow";
import type { z } from "zod";
import { encodeUtf8 } from "./utf8";

export type ColumnType = "string" | "float64" | "int32" | "int64" | "bool" | "timestamp";

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  nullable: boolean;
}

/** A row as a pipeline's parser and schema see it. Timestamps are Dates. */
export type Row = Record<string, unknown>;

export type RowSchema = z.ZodObject<z.ZodRawShape>;

interface ZodInternals {
  _zod: {
    def: {
      type: string;
      innerType?: unknown;
      format?: string;
      checks?: { _zod: { def: { format?: string } } }[];
      values?: unknown[];
      entries?: Record<string, unknown>;
    };
  };
}

function internals(schema: unknown): ZodInternals["_zod"]["def"] {
  return (schema as ZodInternals)._zod.def;
}

function columnType(name: string, schema: unknown): { type: ColumnType; nullable: boolean } {
  const def = internals(schema);
  switch (def.type) {
    case "nullable":
    case "optional":
      return { ...columnType(name, def.innerType), nullable: true };
    case "default":
    case "readonly":
    case "catch":
      return columnType(name, def.innerType);
    case "string":
    case "enum":
      return { type: "string", nullable: false };
    case "boolean":
      return { type: "bool", nullable: false };
    case "date":
      return { type: "timestamp", nullable: false };
    case "bigint":
      return { type: "int64", nullable: false };
    case "number": {
      const formats = [def.format, ...(def.checks ?? []).map((c) => c._zod.def.format)];
      if (formats.includes("int32") || formats.includes("uint32")) return { type: "int32", nullable: false };
      if (formats.includes("safeint")) return { type: "int64", nullable: false };
      return { type: "float64", nullable: false };
    }
    default:
      throw new Error(`column ${name}: zod type '${def.type}' has no Parquet mapping (use string, number, int, boolean, date, enum)`);
  }
}

/** The Parquet/Arrow columns a zod object schema describes, in its key order. */
export function columnsFromZod(schema: RowSchema): ColumnSpec[] {
  return Object.entries(schema.shape).map(([name, field]) => ({ name, ...columnType(name, field) }));
}

export function arrowType(type: ColumnType): DataType {
  switch (type) {
    case "string":
      return new Utf8();
    case "float64":
      return new Float64();
    case "int32":
      return new Int32();
    case "int64":
      return new Int64();
    case "bool":
      return new Bool();
    case "timestamp":
      return new TimestampMillisecond("UTC");
  }
}

export function arrowSchema(columns: ColumnSpec[]): Schema {
  return new Schema(columns.map((c) => new Field(c.name, arrowType(c.type), c.nullable)));
}

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

/** 2^32: a 64-bit integer's high half is worth this many of its low half. */
export const TWO_32 = 4_294_967_296;

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

/** UTF-8 of every string, one after another, with offsets (src/arrow/utf8.ts). */
function utf8Data(rows: readonly Row[], name: string, valid: Validity): { offsets: Int32Array; data: Uint8Array } {
  const texts: (string | undefined)[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i]![name];
    if (valid.mark(i, v)) texts[i] = typeof v === "string" ? v : String(v);
  }
  return encodeUtf8(texts);
}

/** One column of the rows → Arrow Data. Values must already match the column's type. */
export function columnData(spec: ColumnSpec, rows: readonly Row[]): Data {
  const length = rows.length;
  const name = spec.name;
  const valid = new Validity(length);
  const type = arrowType(spec.type);
  const done = <T extends DataType>(props: Record<string, unknown>): Data<T> => {
    if (valid.nulls > 0 && !spec.nullable) throw new TypeError(`column ${spec.name} is not nullable but has ${valid.nulls} nulls`);
    const nullBitmap = valid.nulls > 0 ? valid.bitmap : undefined;
    return makeData({ type, length, nullCount: valid.nulls, nullBitmap, ...props } as Parameters<typeof makeData>[0]) as Data<T>;
  };
  switch (spec.type) {
    case "string": {
      const { offsets, data } = utf8Data(rows, name, valid);
      return done<Utf8>({ valueOffsets: offsets, data });
    }
    case "float64":
      return done<Float64>({ data: float64Data(rows, name, valid) });
    case "int32":
      return done<Int32>({ data: int32Data(rows, name, valid) });
    case "int64":
      return done<Int64>({ data: int64Data(rows, name, valid, (v) => Number(v as number | bigint)) });
    case "bool":
      return done<Bool>({ data: boolData(rows, name, valid) });
    case "timestamp":
      return done<TimestampMillisecond>({ data: int64Data(rows, name, valid, (v) => timestampMillis(v, spec.name)) });
  }
}

/** Rows → an Arrow table with exactly the given columns. */
export function rowsToTable(columns: ColumnSpec[], rows: readonly Row[]): Table {
  const schema = arrowSchema(columns);
  const children = columns.map((c) => columnData(c, rows));
  const struct = makeData({ type: new Struct(schema.fields), length: rows.length, nullCount: 0, children });
  return new Table([new RecordBatch(schema, struct)]);
}
