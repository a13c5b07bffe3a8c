// Merging many Parquet objects in R2 into one. Two ways, chosen from the inputs' footers:
// - stitch (stitch.ts): inputs that already hold full row groups are joined by copying their
//   column chunks, no decoding; CPU and memory stay flat whatever the size.
// - rewrite: small row groups (the first level over many small task outputs) are decoded row
//   group by row group and re-encoded through parquet-wasm's stream writer into an R2 multipart
//   upload, so the output gets full row groups. Memory holds one input file, one row group and
//   one part.
import type { ParquetFile, RecordBatch } from "parquet-wasm/esm";
import { MIN_PART_SIZE, R2Sink, type SinkResult } from "../r2/multipart-sink";
import { tableFromIPC } from "apache-arrow";
import { schemaFingerprint } from "./read";
import { readFooter, stitchable, stitchParquetToR2 } from "./stitch";
import { r2RowCount, rowCountOf } from "./thrift-footer";
import { loadParquet, writerProperties } from "./wasm";

export interface MergeInput {
  key: string;
  rows: number;
}

export interface MergeResult {
  rows: number;
  bytes: number;
  sha256: string;
  parts: number;
  method: "stitch" | "rewrite";
}

/** Inputs averaging at least this many rows per row group are stitched rather than rewritten. */
export const STITCH_MIN_ROWS_PER_GROUP = 16_384;

export interface MergeOptions {
  /** R2 multipart part size; every part but the last has exactly this size. */
  partSize?: number;
  /** The stream writer swallows some errors and can hang: give up after this long. */
  timeoutMs?: number;
}

export { MIN_PART_SIZE };

function deadline<T>(promise: Promise<T>, until: number, what: string): Promise<T> {
  const ms = until - Date.now();
  if (ms <= 0) return Promise.reject(new Error(`${what}: timed out`));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A stream of parquet-wasm record batches read from the inputs one row group at a time. */
function recordBatchSource(bucket: R2Bucket, inputs: readonly MergeInput[], state: { rows: number; failure?: Error }): ReadableStream<RecordBatch> {
  let fileIndex = 0;
  // One input at a time; its row groups read one by one through a Blob, so wasm copies only that row group's bytes.
  let file: { handle: ParquetFile; rowGroups: number; next: number } | undefined;
  let expectedSchema: string | undefined;
  const queued: RecordBatch[] = [];
  return new ReadableStream<RecordBatch>({
    async pull(controller) {
      try {
        const pq = await loadParquet();
        while (queued.length === 0) {
          if (!file || file.next >= file.rowGroups) {
            const input = inputs[fileIndex++];
            if (!input) {
              file?.handle.free();
              file = undefined;
              controller.close();
              return;
            }
            const object = await bucket.get(input.key);
            if (!object) throw new Error(`merge input ${input.key} is missing`);
            const bytes = new Uint8Array(await object.arrayBuffer());
            const rows = rowCountOf(bytes);
            if (rows !== input.rows) throw new Error(`merge input ${input.key} holds ${rows} rows, its marker says ${input.rows}`);
            file?.handle.free();
            const handle = await pq.ParquetFile.fromFile(new Blob([bytes]));
            const schema = schemaFingerprint(tableFromIPC(handle.schema().intoIPCStream()).schema);
            expectedSchema ??= schema;
            if (schema !== expectedSchema) {
              handle.free();
              file = undefined;
              throw new Error(`merge input ${input.key} has schema ${schema}, expected ${expectedSchema}`);
            }
            file = { handle, rowGroups: handle.metadata().numRowGroups(), next: 0 };
            continue;
          }
          const table = await file.handle.read({ rowGroups: [file.next++] });
          for (const batch of table.recordBatches()) {
            state.rows += batch.numRows;
            queued.push(batch);
          }
          table.free();
        }
        controller.enqueue(queued.shift()!);
      } catch (err) {
        state.failure = err instanceof Error ? err : new Error(String(err));
        controller.error(state.failure);
      }
    },
  });
}

/**
 * Merge `inputs` (in order) into `outputKey`. Checks every input's footer against its expected
 * rows and the first input's schema, then the output's footer against the sum of the inputs.
 */
export async function mergeParquetToR2(bucket: R2Bucket, inputs: readonly MergeInput[], outputKey: string, options: MergeOptions = {}): Promise<MergeResult> {
  const footers = await Promise.all(inputs.map((i) => readFooter(bucket, i.key)));
  footers.forEach((f, i) => {
    if (f.rows !== inputs[i]!.rows) throw new Error(`merge input ${f.key} holds ${f.rows} rows, its marker says ${inputs[i]!.rows}`);
  });
  const rows = footers.reduce((n, f) => n + f.rows, 0);
  const groups = footers.reduce((n, f) => n + f.rowGroups, 0);
  if (footers.length > 0 && groups > 0 && rows / groups >= STITCH_MIN_ROWS_PER_GROUP && !stitchable(footers)) {
    return { ...(await stitchParquetToR2(bucket, footers, outputKey, options.partSize)), method: "stitch" };
  }
  return rewriteParquetToR2(bucket, inputs, outputKey, options);
}

/** Decode every input row group by row group and encode them again as one file. */
export async function rewriteParquetToR2(bucket: R2Bucket, inputs: readonly MergeInput[], outputKey: string, options: MergeOptions = {}): Promise<MergeResult> {
  const until = Date.now() + (options.timeoutMs ?? 240_000);
  const expectedRows = inputs.reduce((sum, i) => sum + i.rows, 0);
  const pq = await loadParquet();
  const state: { rows: number; failure?: Error } = { rows: 0 };
  // The writer reads the first batch before it returns, so a bad first input fails here.
  const output = await pq.transformParquetStream(recordBatchSource(bucket, inputs, state), writerProperties(pq)).catch((err: unknown) => {
    throw state.failure ?? err;
  });
  const reader = output.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const sink = new R2Sink(bucket, outputKey, options.partSize);
  let result: SinkResult;
  try {
    for (;;) {
      const { done, value } = await deadline(reader.read(), until, `merge into ${outputKey}`);
      if (state.failure) throw state.failure;
      if (done) break;
      await sink.write(value);
    }
    if (state.failure) throw state.failure;
    result = await sink.finish();
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    await sink.abort();
    // The stream writer hides its source's error behind its own ("Dyn casting error"): report the cause.
    throw state.failure ?? err;
  }

  if (state.rows !== expectedRows) throw new Error(`merge read ${state.rows} rows from its inputs, expected ${expectedRows}`);
  const written = await r2RowCount(bucket, outputKey);
  if (written !== expectedRows) throw new Error(`merged file ${outputKey} holds ${written} rows, expected ${expectedRows}`);
  return { rows: written, ...result, method: "rewrite" };
}
