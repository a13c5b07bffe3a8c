// DELTA_BINARY_PACKED (parquet-format Encodings.md) for integer columns without a dictionary:
// timestamps a step apart, counters, ids in order. Each block of 128 values stores its smallest
// delta and four miniblocks of 32 deltas above it, bit-packed at the width the miniblock needs: an
// hourly series costs a few bytes a block where plain values cost 8 a value (and their ZSTD time).
// Values are taken as JavaScript numbers, so a chunk qualifies only when every value is a safe
// integer and every miniblock's deltas fit 32 bits; otherwise it stays plain.
import { TWO_32 } from "../../arrow/column-values";
import type { ByteWriter } from "../byte-writer";
import { countOf, rowAt, type EncoderColumn, type RowList } from "./column";
import { bitWidth } from "./rle";

const BLOCK = 128;
const MINIBLOCKS = 4;
const MINI = BLOCK / MINIBLOCKS;

/** The listed rows' integers as numbers, or undefined when one is not a safe integer. */
export function integersOf(column: EncoderColumn, rows: RowList): Float64Array | undefined {
  const words = column.words;
  if (!words) return undefined;
  const count = countOf(rows);
  const out = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    const row = rowAt(rows, k);
    if (column.stride === 1) out[k] = words[row]!;
    else {
      const v = words[2 * row + 1]! * TWO_32 + (words[2 * row]! >>> 0);
      if (!Number.isSafeInteger(v)) return undefined;
      out[k] = v;
    }
  }
  return out;
}

const zigzag = (n: number): number => (n >= 0 ? 2 * n : -2 * n - 1);

/**
 * The values DELTA_BINARY_PACKED, appended to `out`; false (nothing written) when a miniblock's
 * deltas would need more than 32 bits or a zigzag value would pass the safe integers.
 */
export function writeDelta(out: ByteWriter, values: Float64Array): boolean {
  const count = values.length;
  if (!Number.isSafeInteger(zigzag(values[0] ?? 0))) return false;
  // Every block's smallest delta, checked first: nothing is written unless all of it can be.
  const deltas = new Float64Array(Math.max(0, count - 1));
  for (let i = 1; i < count; i++) deltas[i - 1] = values[i]! - values[i - 1]!;
  const mins = new Float64Array(Math.ceil(deltas.length / BLOCK));
  for (let b = 0; b < deltas.length; b += BLOCK) {
    let min = Infinity;
    let max = -Infinity;
    for (let i = b; i < Math.min(b + BLOCK, deltas.length); i++) {
      if (deltas[i]! < min) min = deltas[i]!;
      if (deltas[i]! > max) max = deltas[i]!;
    }
    if (max - min >= TWO_32 || !Number.isSafeInteger(zigzag(min))) return false;
    mins[b / BLOCK] = min;
  }
  out.varint(BLOCK);
  out.varint(MINIBLOCKS);
  out.varint(count);
  out.varint(zigzag(values[0] ?? 0));
  const above = new Uint32Array(BLOCK);
  for (let b = 0; b < deltas.length; b += BLOCK) {
    const end = Math.min(b + BLOCK, deltas.length);
    const min = mins[b / BLOCK]!;
    out.varint(zigzag(min));
    const widths = new Uint8Array(MINIBLOCKS);
    above.fill(0);
    for (let i = b; i < end; i++) above[i - b] = deltas[i]! - min;
    const minis = Math.ceil((end - b) / MINI);
    for (let m = 0; m < minis; m++) {
      let most = 0;
      for (let i = m * MINI; i < (m + 1) * MINI; i++) most = Math.max(most, above[i]!);
      widths[m] = bitWidth(most);
    }
    out.bytes(widths);
    for (let m = 0; m < minis; m++) pack(out, above, m * MINI, widths[m]!);
  }
  return true;
}

/** 32 values from `from`, each below 2^w (w ≤ 32), LSB first. */
function pack(out: ByteWriter, values: Uint32Array, from: number, w: number): void {
  if (w === 0) return;
  out.room(4 * w);
  let acc = 0; // bits not yet written, below 2^bits
  let bits = 0;
  for (let i = from; i < from + MINI; i++) {
    let v = values[i]!;
    let left = w;
    while (left > 0) {
      const take = Math.min(left, 8 - bits);
      acc |= (v & ((1 << take) - 1)) << bits;
      v >>>= take;
      bits += take;
      left -= take;
      if (bits === 8) {
        out.buf[out.at++] = acc;
        acc = 0;
        bits = 0;
      }
    }
  }
}
