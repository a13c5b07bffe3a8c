// parquet-wasm, initialised once per isolate from the bundled wasm module: sluice's Parquet reader
// (sluice writes its files itself: ./encode).
import init, * as parquet from "parquet-wasm/esm";
import wasmModule from "parquet-wasm/esm/parquet_wasm_bg.wasm";

export type ParquetWasm = typeof parquet;

let ready: Promise<unknown> | undefined;

export async function loadParquet(): Promise<ParquetWasm> {
  ready ??= init({ module_or_path: wasmModule });
  await ready;
  return parquet;
}
