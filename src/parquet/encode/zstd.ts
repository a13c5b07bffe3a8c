// ZSTD compression for the pages sluice writes: zstd (the C library, built to wasm through the
// zstd crate by @dweb-browser/zstd-wasm), instantiated once per isolate from the bundled module.
// The module imports nothing; workerd compiles no wasm from bytes, so it comes as a module import.
import wasmModule from "@dweb-browser/zstd-wasm/zstd_wasm_bg.wasm";

interface ZstdExports {
  memory: WebAssembly.Memory;
  compress(retptr: number, ptr: number, len: number, level: number): void;
  __wbindgen_add_to_stack_pointer(delta: number): number;
  __wbindgen_malloc(size: number, align: number): number;
  __wbindgen_free(ptr: number, size: number, align: number): void;
}

let zstd: ZstdExports | undefined;

function instance(): ZstdExports {
  if (!zstd) {
    const wasmThrow = () => {
      throw new Error("zstd: the compressor failed");
    };
    zstd = new WebAssembly.Instance(wasmModule, { wbg: { __wbindgen_throw: wasmThrow } }).exports as unknown as ZstdExports;
  }
  return zstd;
}

/** One ZSTD frame of `input` (level 1–22; DuckDB and parquet-mr use 3). */
export function compressZstd(input: Uint8Array, level = 3): Uint8Array {
  const z = instance();
  const retptr = z.__wbindgen_add_to_stack_pointer(-16);
  try {
    const src = z.__wbindgen_malloc(input.length, 1) >>> 0;
    new Uint8Array(z.memory.buffer, src, input.length).set(input);
    z.compress(retptr, src, input.length, level); // frees src
    const view = new DataView(z.memory.buffer);
    const out = view.getInt32(retptr, true) >>> 0;
    const length = view.getInt32(retptr + 4, true) >>> 0;
    const result = new Uint8Array(z.memory.buffer, out, length).slice();
    z.__wbindgen_free(out, length, 1);
    return result;
  } finally {
    z.__wbindgen_add_to_stack_pointer(16);
  }
}
