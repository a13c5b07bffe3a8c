// Bench section 4, step 2 (npm run bench): the inputs Node serves merged into one file in R2, as
// the aggregate phase's final merge does it (BENCH_MERGE_MODE=auto: stitched, since the inputs
// hold full row groups) or by decoding and re-encoding every row group (rewrite). Node watches
// this isolate's CPU between the marks, and in a second run what it holds; the output goes back
// to Node for DuckDB.
import { env } from "cloudflare:workers";
import { it } from "vitest";
import { mergeParquetToR2, rewriteParquetToR2 } from "../../src/parquet/merge";
import { rowCountOf } from "../../src/parquet/thrift-footer";
import { loadParquet } from "../../src/parquet/wasm";
import { pulsingBucket } from "./pulse";
import { benchVar, clock, mark, sendToNode } from "./seeds-rows";

it("merges the inputs into one Parquet file", async () => {
  const url = benchVar("BENCH_FILES_URL");
  const mode = benchVar("BENCH_MERGE_MODE");
  const list = (await (await fetch(`${url}/files?under=inputs`)).json()) as { name: string; bytes: number }[];
  const inputs: { key: string; rows: number }[] = [];
  for (const f of list) {
    const bytes = new Uint8Array(await (await fetch(`${url}/files/${f.name}`)).arrayBuffer());
    const key = `bench/merge/${f.name}`;
    await env.BUCKET.put(key, bytes);
    inputs.push({ key, rows: rowCountOf(bytes) });
  }
  const pq = await loadParquet();
  const wasmBefore = pq.wasmMemory().buffer.byteLength;
  const outputKey = `bench/merge/output-${mode}.parquet`;
  const merge = (bucket: R2Bucket) =>
    mode === "rewrite" ? rewriteParquetToR2(bucket, inputs, outputKey, { timeoutMs: 1_800_000 }) : mergeParquetToR2(bucket, inputs, outputKey);
  // Timed and watched (CPU), then again watched live: a full GC and a heap sample at each of the
  // merge's R2 calls and body reads (test/bench/pulse.ts), which cost CPU of their own.
  await mark("start:merge");
  const t0 = await clock();
  const result = await merge(env.BUCKET);
  const ms = (await clock()) - t0;
  await mark("end:merge");
  await mark("start:merge:live");
  await merge(pulsingBucket(env.BUCKET, 50));
  await mark("end:merge:live");
  const wasmAfter = pq.wasmMemory().buffer.byteLength;
  await sendToNode(outputKey, `output/${mode}.parquet`);
  const inputBytes = list.reduce((n, f) => n + f.bytes, 0);
  console.log(`BENCH ${JSON.stringify({ bench: "merge", mode, files: list.length, inputBytes, ms, wasmBefore, wasmAfter, ...result })}`);
}, 1_800_000);
