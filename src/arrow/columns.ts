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
import { readColumn } from "./column-values";
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

/** One column of the rows → Arrow Data. Values must already match the column's type. */
export function columnData(spec: ColumnSpec, rows: readonly Row[]): Data {
  const column = readColumn(spec, rows);
  const type = arrowType(spec.type);
  const nullBitmap = column.nulls > 0 ? column.validity : undefined;
  const props = { type, length: column.length, nullCount: column.nulls, nullBitmap };
  const data = (values: Record<string, unknown>) => makeData({ ...props, ...values } as Parameters<typeof makeData>[0]);
  switch (column.kind) {
    case "string": {
      const { offsets, data: bytes } = encodeUtf8(column.texts);
      return data({ valueOffsets: offsets, data: bytes });
    }
    case "bool":
      return data({ data: column.bits });
    default:
      return data({ data: column.values });
  }
}

/** Rows → an Arrow table with exactly the given columns. */
export function rowsToTable(columns: ColumnSpec[], rows: readonly Row[]): Table {
  const schema = arrowSchema(columns);
  const children = columns.map((c) => columnData(c, rows));
  const struct = makeData({ type: new Struct(schema.fields), length: rows.length, nullCount: 0, children });
  return new Table([new RecordBatch(schema, struct)]);
}
