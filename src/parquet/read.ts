// Parquet bytes → footer facts, or rows.
import { tableFromIPC, type Schema } from "apache-arrow";
import type { Row } from "../arrow/columns";
import { tableToRows } from "../arrow/table-rows";
import { footerLength, rowCountOf } from "./thrift-footer";
import { loadParquet } from "./wasm";

/** Column names, types and nullability as one comparable string. */
export function schemaFingerprint(schema: Schema): string {
  return schema.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable ? "null" : "req"}`).join(",");
}

export async function parquetSchema(bytes: Uint8Array): Promise<string> {
  const pq = await loadParquet();
  return schemaFingerprint(tableFromIPC(pq.readSchema(footerOnly(bytes)).intoIPCStream()).schema);
}

/** A file's magic and footer alone: all a schema read needs, without copying the data into wasm. */
function footerOnly(bytes: Uint8Array): Uint8Array {
  const length = footerLength(bytes.subarray(bytes.length - 8));
  const out = new Uint8Array(4 + length + 8);
  out.set(bytes.subarray(0, 4));
  out.set(bytes.subarray(bytes.length - length - 8), 4);
  return out;
}

/** Check a Parquet file's footer: the expected rows and (optionally) schema. */
export async function validateParquet(bytes: Uint8Array, expect: { rows: number; schema?: string }): Promise<void> {
  const rows = rowCountOf(bytes);
  if (rows !== expect.rows) throw new Error(`parquet footer holds ${rows} rows, expected ${expect.rows}`);
  if (expect.schema !== undefined) {
    const schema = await parquetSchema(bytes);
    if (schema !== expect.schema) throw new Error(`parquet schema ${schema} differs from expected ${expect.schema}`);
  }
}

export async function readParquetRows(bytes: Uint8Array): Promise<Row[]> {
  const pq = await loadParquet();
  const table = tableFromIPC(pq.readParquet(bytes).intoIPCStream());
  return tableToRows(table);
}
