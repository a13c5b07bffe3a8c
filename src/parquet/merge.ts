// Merging many Parquet objects in R2 into one. Two ways, chosen from the inputs' footers:
// - stitch (stitch.ts): inputs that already hold full row groups are joined by copying their
//   column chunks, no decoding; CPU and memory stay flat whatever the size.
// - rewrite: small row groups (the first level over many small task outputs) are decoded row
//   group by row group and encoded again by sluice's encoder (./encode) in full row groups,
//   streamed into an R2 multipart upload. Memory holds one input file, a row group's rows and
//   one part.
import { columnsOfSchema, type ColumnSpec, type Row } from "../arrow/columns";
import { MIN_PART_SIZE, R2Sink, type SinkResult } from "../r2/multipart-sink";
import { groupValues, ParquetEncoder } from "./encode/file";
import { parquetArrowSchema, schemaFingerprint } from "./read";
import { rowGroups } from "./row-groups";
import { readFooter, stitchable, stitchParquetToR2 } from "./stitch";
import { r2RowCount, rowCountOf } from "./thrift-footer";

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
}

/** Rows of each row group a rewrite writes. */
const GROUP_ROWS = 65_536;

export { MIN_PART_SIZE };

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

/** An input's bytes, checked against its marker's rows and the first input's schema. */
async function openInput(bucket: R2Bucket, input: MergeInput, expected: string | undefined): Promise<{ bytes: Uint8Array; schema: string; columns: ColumnSpec[] }> {
  const object = await bucket.get(input.key);
  if (!object) throw new Error(`merge input ${input.key} is missing`);
  const bytes = new Uint8Array(await object.arrayBuffer());
  const rows = rowCountOf(bytes);
  if (rows !== input.rows) throw new Error(`merge input ${input.key} holds ${rows} rows, its marker says ${input.rows}`);
  const arrow = await parquetArrowSchema(bytes);
  const schema = schemaFingerprint(arrow);
  if (expected !== undefined && schema !== expected) throw new Error(`merge input ${input.key} has schema ${schema}, expected ${expected}`);
  return { bytes, schema, columns: columnsOfSchema(arrow) };
}

/** Decode every input row group by row group and encode the rows again, in full row groups, as one file. */
export async function rewriteParquetToR2(bucket: R2Bucket, inputs: readonly MergeInput[], outputKey: string, options: MergeOptions = {}): Promise<MergeResult> {
  const expectedRows = inputs.reduce((sum, i) => sum + i.rows, 0);
  const sink = new R2Sink(bucket, outputKey, options.partSize);
  let result: SinkResult;
  let read = 0;
  try {
    let expected: string | undefined;
    let encoder: ParquetEncoder | undefined;
    let columns: ColumnSpec[] = [];
    const held: Row[] = [];
    const write = async (rows: Row[]) => {
      for (const piece of encoder!.addRowGroup(groupValues(columns, rows))) await sink.write(piece);
    };
    for (const input of inputs) {
      const opened = await openInput(bucket, input, expected);
      if (!encoder) {
        expected = opened.schema;
        columns = opened.columns;
        encoder = new ParquetEncoder(columns);
        await sink.write(encoder.header());
      }
      for await (const rows of rowGroups(new Blob([opened.bytes]))) {
        read += rows.length;
        for (const row of rows) held.push(row);
        while (held.length >= GROUP_ROWS) await write(held.splice(0, GROUP_ROWS));
      }
    }
    if (held.length > 0) await write(held);
    // No inputs, or none with rows: an empty file of the first input's columns (or of none).
    encoder ??= new ParquetEncoder(columns);
    if (sink.bytes === 0) await sink.write(encoder.header());
    await sink.write(encoder.finish());
    if (read !== expectedRows) throw new Error(`merge read ${read} rows from its inputs, expected ${expectedRows}`);
    result = await sink.finish();
  } catch (err) {
    await sink.abort();
    throw err;
  }
  const written = await r2RowCount(bucket, outputKey);
  if (written !== expectedRows) throw new Error(`merged file ${outputKey} holds ${written} rows, expected ${expectedRows}`);
  return { rows: written, ...result, method: "rewrite" };
}
