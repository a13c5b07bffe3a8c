// A column chunk's minimum and maximum, PLAIN-encoded as Parquet statistics hold them (min_value,
// max_value, type-defined order: signed integers, doubles by value with NaN left out and a zero
// minimum written as -0 and a zero maximum as +0, strings byte by byte unsigned).
import { countOf, rowAt, type EncoderColumn, type RowList } from "./column";

export interface MinMax {
  min: Uint8Array;
  max: Uint8Array;
}

/** Strings longer than this get no statistics (a truncated maximum would need rounding up). */
const MAX_STAT_BYTES = 64;


function float64Bytes(v: number): Uint8Array {
  return new Uint8Array(Float64Array.of(v).buffer);
}

function wordBytes(words: Int32Array, row: number, stride: number): Uint8Array {
  return new Uint8Array(words.slice(row * stride, row * stride + stride).buffer);
}

/** Signed comparison of two rows' 64-bit integers held as (low, high) words. */
function compare64(words: Int32Array, a: number, b: number): number {
  const ha = words[2 * a + 1]!;
  const hb = words[2 * b + 1]!;
  if (ha !== hb) return ha < hb ? -1 : 1;
  const la = words[2 * a]! >>> 0;
  const lb = words[2 * b]! >>> 0;
  return la === lb ? 0 : la < lb ? -1 : 1;
}

/**
 * Two strings in code point order, which is their UTF-8's byte order. UTF-16 code units order
 * them the same except a surrogate (U+D800–DFFF, half of a code point past U+FFFF) against
 * U+E000–FFFF: moved above them, as their code points are.
 */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x <= 0xdfff ? x + 0x2000 : x - 0x800;
      y = y <= 0xdfff ? y + 0x2000 : y - 0x800;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** Min and max over the given rows' values, or undefined when there are none to order. */
export function minMax(column: EncoderColumn, rows: RowList): MinMax | undefined {
  const count = countOf(rows);
  if (count === 0) return undefined;
  if (column.doubles) {
    const d = column.doubles;
    let min = Infinity;
    let max = -Infinity;
    let any = false;
    for (let k = 0; k < count; k++) {
      const v = d[rowAt(rows, k)]!;
      if (v !== v) continue; // NaN
      any = true;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (!any) return undefined;
    return { min: float64Bytes(min === 0 ? -0 : min), max: float64Bytes(max === 0 ? 0 : max) };
  }
  let cmp: (a: number, b: number) => number;
  let encode: (row: number) => Uint8Array;
  if (column.words) {
    const words = column.words;
    cmp = column.stride === 2 ? (a, b) => compare64(words, a, b) : (a, b) => words[a]! - words[b]!;
    encode = (row) => wordBytes(words, row, column.stride);
  } else if (column.texts) {
    const texts = column.texts as string[];
    cmp = (a, b) => (texts[a] === texts[b] ? 0 : compareCodePoints(texts[a]!, texts[b]!));
    encode = (row) => new TextEncoder().encode(texts[row]);
  } else {
    const bits = column.bits!;
    const bit = (row: number) => (bits[row >> 3]! >> (row & 7)) & 1;
    cmp = (a, b) => bit(a) - bit(b);
    encode = (row) => Uint8Array.of(bit(row));
  }
  let min = rowAt(rows, 0);
  let max = min;
  for (let k = 1; k < count; k++) {
    const row = rowAt(rows, k);
    if (cmp(row, min) < 0) min = row;
    else if (cmp(row, max) > 0) max = row;
  }
  const stats = { min: encode(min), max: encode(max) };
  return stats.min.length > MAX_STAT_BYTES || stats.max.length > MAX_STAT_BYTES ? undefined : stats;
}
