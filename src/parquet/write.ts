// Rows → validated Parquet bytes.
import { tableToIPC } from "apache-arrow";
import { arrowSchema, rowsToTable, type ColumnSpec, type Row } from "../arrow/columns";
import { schemaFingerprint, validateParquet } from "./read";
import { loadParquet, writerProperties } from "./wasm";

/**
 * Encode rows as a ZSTD Parquet file (row groups of `rowGroupSize` rows), then check its footer
 * holds exactly those rows and columns.
 */
export async function writeParquetRows(columns: ColumnSpec[], rows: readonly Row[], rowGroupSize?: number): Promise<Uint8Array> {
  const pq = await loadParquet();
  const arrow = rowsToTable(columns, rows);
  const wasmTable = pq.Table.fromIPCStream(tableToIPC(arrow, "stream"));
  const bytes = pq.writeParquet(wasmTable, writerProperties(pq, rowGroupSize));
  await validateParquet(bytes, { rows: rows.length, schema: schemaFingerprint(arrowSchema(columns)) });
  return bytes;
}
