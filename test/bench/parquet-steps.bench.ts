// Bench: where a parquet-wasm write's time goes (rows → Arrow, Arrow → IPC, IPC → wasm, encode, check:
// the path sluice wrote every file by until 2026-12-02, and merges that re-encode still take), and
// reading the file back to rows, best of 3. sluice's own encoder is timed in parquet-write.bench.ts.
// Run alone: npx vitest run --project bench-workerd test/bench/parquet-steps.bench.ts
import { tableToIPC } from "apache-arrow";
import { it } from "vitest";
import { arrowSchema, rowsToTable } from "../../src/arrow/columns";
import { readParquetRows, schemaFingerprint, validateParquet } from "../../src/parquet/read";
import { loadParquet, writerProperties } from "../../src/parquet/wasm";
import { getPipeline } from "../helpers";
import { clock, seedsSilverRows } from "./seeds-rows";

it("times each step of a Parquet write", async () => {
  const columns = getPipeline("sample-weather").columns;
  const { rows } = seedsSilverRows();
  const pq = await loadParquet();
  // Best of three per step: the machine is noisy and the first pass warms the JIT.
  const steps: Record<string, number> = {};
  for (let run = 0; run < 3; run++) {
    let t = await clock();
    const lap = async (name: string) => {
      const now = await clock();
      steps[name] = Math.min(steps[name] ?? Infinity, now - t);
      t = await clock();
    };
    const table = rowsToTable(columns, rows);
    await lap("rowsToArrow");
    const ipc = tableToIPC(table, "stream");
    await lap("arrowToIpc");
    const wasmTable = pq.Table.fromIPCStream(ipc);
    await lap("ipcToWasm");
    const bytes = pq.writeParquet(wasmTable, writerProperties(pq));
    await lap("encodeZstd");
    await validateParquet(bytes, { rows: rows.length, schema: schemaFingerprint(arrowSchema(columns)) });
    await lap("validate");
    await readParquetRows(bytes);
    await lap("readRows");
  }
  console.log(`BENCH ${JSON.stringify({ bench: "parquet-steps", rows: rows.length, steps })}`);
}, 600_000);
