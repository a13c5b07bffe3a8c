// One row group's column as the encoder reads it: values as 32-bit words (fixed width), strings
// as JavaScript strings (UTF-8 made only for what is written), booleans and validity as bitmaps,
// and the rows that hold a value.
import type { ColumnSpec } from "../../arrow/columns";
import type { ColumnValues } from "../../arrow/column-values";
import { encodeUtf8 } from "../../arrow/utf8";

export interface EncoderColumn {
  spec: ColumnSpec;
  /** Rows in the row group, nulls included. */
  length: number;
  /** A bit a row, LSB first: 1 where the row holds a value. */
  validity: Uint8Array;
  /** Rows holding a value, ascending; undefined when every row does. */
  present: Int32Array | undefined;
  /** Values that are not null. */
  count: number;
  /** Fixed-width values as little-endian 32-bit words: 2 a value for float64, int64 and timestamps, 1 for int32. */
  words?: Int32Array;
  /** Words per value (1 or 2); 0 for strings and booleans. */
  stride: 0 | 1 | 2;
  /** float64 columns: the same buffer as doubles, for statistics. */
  doubles?: Float64Array;
  /** String columns: each row's string, undefined where null. */
  texts?: (string | undefined)[];
  /** Boolean columns: values, a bit a row, LSB first. */
  bits?: Uint8Array;
}

/** The rows whose bit is set, a byte of the bitmap at a time (a full byte is eight rows at once). */
function presentRows(bitmap: Uint8Array, length: number, nulls: number): Int32Array {
  const rows = new Int32Array(length - nulls);
  let k = 0;
  for (let b = 0, bytes = (length + 7) >> 3; b < bytes; b++) {
    const mask = bitmap[b]!;
    const row = b << 3;
    if (mask === 0xff) {
      for (let j = 0; j < 8; j++) rows[k++] = row + j;
    } else if (mask !== 0) {
      for (let j = 0; j < 8; j++) if ((mask >> j) & 1) rows[k++] = row + j;
    }
  }
  return rows;
}

/** A column's values (src/arrow/column-values.ts) as the encoder reads them. */
export function encoderColumn(spec: ColumnSpec, column: ColumnValues): EncoderColumn {
  const { length, nulls, validity } = column;
  const base = { spec, length, validity, present: nulls > 0 ? presentRows(validity, length, nulls) : undefined, count: length - nulls };
  const words = (v: ArrayBufferView) => new Int32Array(v.buffer, v.byteOffset, v.byteLength >> 2);
  switch (column.kind) {
    case "float64":
      return { ...base, words: words(column.values), stride: 2, doubles: column.values };
    case "int64":
      return { ...base, words: words(column.values), stride: 2 };
    case "int32":
      return { ...base, words: words(column.values), stride: 1 };
    case "string":
      return { ...base, stride: 0, texts: column.texts };
    case "bool":
      return { ...base, stride: 0, bits: column.bits };
  }
}

/** Rows to encode: every row from 0 to `count` (a number), or the listed rows (a column's `present`, a dictionary's entries). */
export type RowList = Int32Array | number;

export const rowAt = (rows: RowList, k: number): number => (typeof rows === "number" ? k : rows[k]!);
export const countOf = (rows: RowList): number => (typeof rows === "number" ? rows : rows.length);

/** UTF-8 of the listed rows' strings, one after another, and their offsets. */
export function utf8Of(texts: readonly (string | undefined)[], rows: RowList): { offsets: Int32Array; data: Uint8Array } {
  if (typeof rows === "number") return encodeUtf8(rows === texts.length ? texts : texts.slice(0, rows));
  return encodeUtf8(Array.from(rows, (row) => texts[row]));
}
