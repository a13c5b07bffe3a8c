// Rows → validated Parquet bytes.
import { arrowSchema, type ColumnSpec, type Row } from "../arrow/columns";
import { encodeParquet } from "./encode/file";
import { schemaFingerprint, validateParquet } from "./read";

/**
 * Encode rows as a ZSTD Parquet file (row groups of `rowGroupSize` rows), then check its footer
 * holds exactly those rows and columns.
 */
export async function writeParquetRows(columns: ColumnSpec[], rows: readonly Row[], rowGroupSize?: number): Promise<Uint8Array> {
  const bytes = encodeParquet(columns, rows, { rowGroupSize });
  await validateParquet(bytes, { rows: rows.length, schema: schemaFingerprint(arrowSchema(columns)) });
  return bytes;
}
