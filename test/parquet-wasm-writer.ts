// Files written by parquet-wasm (as sluice wrote every file until 2026-12-02, and still writes the
// merges that re-encode): for tests that check sluice's own encoder against it (the same schema;
// files of both stitch together).
import { tableToIPC } from "apache-arrow";
import { rowsToTable, type ColumnSpec, type Row } from "../src/arrow/columns";
import { loadParquet, writerProperties } from "../src/parquet/wasm";

/** Rows → a Parquet file written by parquet-wasm. */
export async function writeWithParquetWasm(columns: ColumnSpec[], rows: readonly Row[]): Promise<Uint8Array> {
  const pq = await loadParquet();
  return pq.writeParquet(pq.Table.fromIPCStream(tableToIPC(rowsToTable(columns, rows), "stream")), writerProperties(pq));
}
