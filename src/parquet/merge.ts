// Streaming merge: many Parquet objects in R2 → one Parquet object in R2, row group by row
// group, through parquet-wasm's stream writer into an R2 multipart upload of equal parts.
// Memory holds one input file, one row group and one part, whatever the output's size.
import type { RecordBatch } from "parquet-wasm/esm";
import { hex } from "../hash";
import { parquetSchema } from "./read";
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
}

export interface MergeOptions {
  /** R2 multipart part size; every part but the last has exactly this size. */
  partSize?: number;
  /** The stream writer swallows some errors and can hang: give up after this long. */
  timeoutMs?: number;
}

export const MIN_PART_SIZE = 5 * 1024 * 1024;

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
  let file: { bytes: Uint8Array; rowGroups: number; next: number } | undefined;
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
              controller.close();
              return;
            }
            const object = await bucket.get(input.key);
            if (!object) throw new Error(`merge input ${input.key} is missing`);
            const bytes = new Uint8Array(await object.arrayBuffer());
            const rows = rowCountOf(bytes);
            if (rows !== input.rows) throw new Error(`merge input ${input.key} holds ${rows} rows, its marker says ${input.rows}`);
            const schema = await parquetSchema(bytes);
            expectedSchema ??= schema;
            if (schema !== expectedSchema) throw new Error(`merge input ${input.key} has schema ${schema}, expected ${expectedSchema}`);
            const handle = await pq.ParquetFile.fromFile(new Blob([bytes]));
            const rowGroups = handle.metadata().numRowGroups();
            handle.free();
            file = { bytes, rowGroups, next: 0 };
            continue;
          }
          const table = pq.readParquet(file.bytes, { rowGroups: [file.next++] });
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
  const partSize = Math.max(options.partSize ?? MIN_PART_SIZE, MIN_PART_SIZE);
  const until = Date.now() + (options.timeoutMs ?? 240_000);
  const expectedRows = inputs.reduce((sum, i) => sum + i.rows, 0);
  const pq = await loadParquet();
  const state: { rows: number; failure?: Error } = { rows: 0 };
  // The writer reads the first batch before it returns, so a bad first input fails here.
  const output = await pq.transformParquetStream(recordBatchSource(bucket, inputs, state), writerProperties(pq)).catch((err: unknown) => {
    throw state.failure ?? err;
  });
  const reader = output.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const digest = new crypto.DigestStream("SHA-256");
  const digestWriter = digest.getWriter();

  let upload: R2MultipartUpload | undefined;
  const parts: R2UploadedPart[] = [];
  let part = new Uint8Array(partSize);
  let filled = 0;
  let bytes = 0;
  const flushPart = async (data: Uint8Array) => {
    upload ??= await bucket.createMultipartUpload(outputKey);
    parts.push(await upload.uploadPart(parts.length + 1, data));
  };
  try {
    for (;;) {
      const { done, value } = await deadline(reader.read(), until, `merge into ${outputKey}`);
      if (state.failure) throw state.failure;
      if (done) break;
      await digestWriter.write(value);
      bytes += value.length;
      let offset = 0;
      while (offset < value.length) {
        const n = Math.min(partSize - filled, value.length - offset);
        part.set(value.subarray(offset, offset + n), filled);
        filled += n;
        offset += n;
        if (filled === partSize) {
          await flushPart(part);
          part = new Uint8Array(partSize);
          filled = 0;
        }
      }
    }
    if (state.failure) throw state.failure;
    if (upload) {
      if (filled > 0) await flushPart(part.subarray(0, filled));
      await upload.complete(parts);
    } else {
      await bucket.put(outputKey, part.subarray(0, filled));
    }
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    if (upload) await upload.abort().catch(() => undefined);
    // The stream writer hides its source's error behind its own ("Dyn casting error"): report the cause.
    throw state.failure ?? err;
  }
  await digestWriter.close();
  const sha256 = hex(await digest.digest);

  if (state.rows !== expectedRows) throw new Error(`merge read ${state.rows} rows from its inputs, expected ${expectedRows}`);
  const written = await r2RowCount(bucket, outputKey);
  if (written !== expectedRows) throw new Error(`merged file ${outputKey} holds ${written} rows, expected ${expectedRows}`);
  return { rows: written, bytes, sha256, parts: Math.max(parts.length, 1) };
}
