// parquet-wasm, initialised once per isolate from the bundled wasm module.
import init, * as parquet from "parquet-wasm/esm";
import wasmModule from "parquet-wasm/esm/parquet_wasm_bg.wasm";

export type ParquetWasm = typeof parquet;

let ready: Promise<unknown> | undefined;

export async function loadParquet(): Promise<ParquetWasm> {
  ready ??= init({ module_or_path: wasmModule });
  await ready;
  return parquet;
}

/** Writer settings for every file sluice writes: ZSTD (the library's default is none). */
export function writerProperties(pq: ParquetWasm, rowGroupSize = 65_536): parquet.WriterProperties {
  return new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).setMaxRowGroupSize(rowGroupSize).setCreatedBy("sluice").build();
}
