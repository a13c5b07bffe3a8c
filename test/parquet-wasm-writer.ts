// Files written by parquet-wasm, as sluice wrote every file until 2026-12-02: for tests that
// check sluice's own encoder against it (the same schema; files of both stitch together) and the
// benches that compare the two writers.
import { tableToIPC } from "apache-arrow";
import type { WriterProperties } from "parquet-wasm/esm";
import { rowsToTable, type ColumnSpec, type Row } from "../src/arrow/columns";
import { loadParquet, type ParquetWasm } from "../src/parquet/wasm";

/** The settings sluice wrote with: ZSTD, chunk statistics, no dictionaries, row groups of `rowGroupSize`. */
export function wasmWriterProperties(pq: ParquetWasm, rowGroupSize = 65_536): WriterProperties {
  return new pq.WriterPropertiesBuilder()
    .setCompression(pq.Compression.ZSTD)
    .setStatisticsEnabled(pq.EnabledStatistics.Chunk)
    .setDictionaryEnabled(false)
    .setMaxRowGroupSize(rowGroupSize)
    .setCreatedBy("sluice")
    .build();
}

/** Rows → a Parquet file written by parquet-wasm. */
export async function writeWithParquetWasm(columns: ColumnSpec[], rows: readonly Row[]): Promise<Uint8Array> {
  const pq = await loadParquet();
  return pq.writeParquet(pq.Table.fromIPCStream(tableToIPC(rowsToTable(columns, rows), "stream")), wasmWriterProperties(pq));
}
