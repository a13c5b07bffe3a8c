// A second Parquet reader that shares no code with ours (parquet-wasm, arrow): hyparquet, pure
// JavaScript, with fzstd for ZSTD pages. Tests read outputs with both and compare, so a writer
// bug that our own reader would read back "correctly" still shows.
import { decompress } from "fzstd";
import { parquetReadObjects } from "hyparquet";
import type { Row } from "../src/arrow/columns";
import { readParquetRows } from "../src/parquet/read";

/** Every row of the file, as hyparquet reads it: timestamps as Dates, int64 as bigint. */
export async function readIndependently(bytes: Uint8Array): Promise<Record<string, unknown>[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return parquetReadObjects({ file, compressors: { ZSTD: (input: Uint8Array) => decompress(input) } });
}

/** A value in one comparable form for either reader: Dates as ms, bigints as numbers. */
export const plain = (v: unknown): unknown => (v instanceof Date ? v.getTime() : typeof v === "bigint" ? Number(v) : v);

/** Rows in one comparable form, in a stable order. */
export const comparable = (rows: Record<string, unknown>[]) =>
  rows
    .map((r) =>
      JSON.stringify(
        Object.fromEntries(
          Object.keys(r)
            .sort()
            .map((k) => [k, plain(r[k])]),
        ),
      ),
    )
    .sort();

/**
 * The file's rows as our reader reads them, after checking hyparquet reads the same rows (a test
 * fails on any difference); use it wherever a test reads an output.
 */
export async function readBoth(bytes: Uint8Array): Promise<Row[]> {
  const ours = await readParquetRows(bytes);
  const theirs = await readIndependently(bytes);
  if (theirs.length !== ours.length) throw new Error(`hyparquet read ${theirs.length} rows, our reader ${ours.length}`);
  const a = comparable(ours);
  const b = comparable(theirs);
  const differs = a.findIndex((row, i) => row !== b[i]);
  if (differs >= 0) throw new Error(`hyparquet and our reader differ: ${b[differs]} vs ${a[differs]}`);
  return ours;
}
