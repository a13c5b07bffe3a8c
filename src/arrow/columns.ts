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

function validity(values: readonly unknown[]): { bitmap: Uint8Array; nulls: number } {
  const bitmap = new Uint8Array((values.length + 7) >> 3);
  let nulls = 0;
  values.forEach((v, i) => {
    if (v === null || v === undefined) nulls++;
    else bitmap[i >> 3]! |= 1 << (i & 7);
  });
  return { bitmap, nulls };
}

const encoder = new TextEncoder();

function timestampMillis(v: unknown, column: string): bigint {
  if (v instanceof Date) return BigInt(v.getTime());
  if (typeof v === "number") return BigInt(Math.trunc(v));
  if (typeof v === "bigint") return v;
  throw new TypeError(`column ${column}: expected a Date, got ${typeof v}`);
}

/** One column of values → Arrow Data. Values must already match the column's type. */
export function columnData(spec: ColumnSpec, values: readonly unknown[]): Data {
  const length = values.length;
  const { bitmap, nulls } = validity(values);
  if (nulls > 0 && !spec.nullable) throw new TypeError(`column ${spec.name} is not nullable but has ${nulls} nulls`);
  const nullBitmap = nulls > 0 ? bitmap : undefined;
  const type = arrowType(spec.type);
  switch (spec.type) {
    case "string": {
      const offsets = new Int32Array(length + 1);
      const parts: Uint8Array[] = [];
      let total = 0;
      values.forEach((v, i) => {
        if (v !== null && v !== undefined) {
          const bytes = encoder.encode(String(v));
          parts.push(bytes);
          total += bytes.length;
        }
        offsets[i + 1] = total;
      });
      const data = new Uint8Array(total);
      let at = 0;
      for (const p of parts) {
        data.set(p, at);
        at += p.length;
      }
      return makeData({ type: type as Utf8, length, nullCount: nulls, nullBitmap, valueOffsets: offsets, data });
    }
    case "float64":
      return makeData({ type: type as Float64, length, nullCount: nulls, nullBitmap, data: Float64Array.from(values, (v) => (v == null ? 0 : Number(v))) });
    case "int32":
      return makeData({ type: type as Int32, length, nullCount: nulls, nullBitmap, data: Int32Array.from(values, (v) => (v == null ? 0 : Number(v))) });
    case "int64":
      return makeData({
        type: type as Int64,
        length,
        nullCount: nulls,
        nullBitmap,
        data: BigInt64Array.from(values, (v) => (v == null ? 0n : BigInt(v as number | bigint))),
      });
    case "bool": {
      const bits = new Uint8Array((length + 7) >> 3);
      values.forEach((v, i) => {
        if (v === true) bits[i >> 3]! |= 1 << (i & 7);
      });
      return makeData({ type: type as Bool, length, nullCount: nulls, nullBitmap, data: bits });
    }
    case "timestamp":
      return makeData({
        type: type as TimestampMillisecond,
        length,
        nullCount: nulls,
        nullBitmap,
        data: BigInt64Array.from(values, (v) => (v == null ? 0n : timestampMillis(v, spec.name))),
      });
  }
}

/** Rows → an Arrow table with exactly the given columns. */
export function rowsToTable(columns: ColumnSpec[], rows: readonly Row[]): Table {
  const schema = arrowSchema(columns);
  const children = columns.map((c) =>
    columnData(
      c,
      rows.map((r) => r[c.name]),
    ),
  );
  const struct = makeData({ type: new Struct(schema.fields), length: rows.length, nullCount: 0, children });
  return new Table([new RecordBatch(schema, struct)]);
}

/** An Arrow table → rows, timestamps as Dates and 64-bit integers as numbers. */
export function tableToRows(table: Table): Row[] {
  const fields = table.schema.fields;
  const columns = fields.map((f) => table.getChild(f.name));
  const rows: Row[] = new Array(table.numRows);
  for (let i = 0; i < table.numRows; i++) {
    const row: Row = {};
    fields.forEach((f, j) => {
      const v: unknown = columns[j]?.get(i) ?? null;
      if (v === null) row[f.name] = null;
      else if (f.type instanceof TimestampMillisecond || f.typeId === 10) row[f.name] = new Date(Number(v));
      else if (typeof v === "bigint") row[f.name] = Number(v);
      else row[f.name] = v;
    });
    rows[i] = row;
  }
  return rows;
}
