// Parquet's RLE / bit-packing hybrid (parquet-format Encodings.md), for definition levels and
// dictionary indices: a run of eight or more equal values is one RLE run; other values go into
// bit-packed runs of groups of eight, the last padded with zeros (readers stop at num_values).
import { ByteWriter } from "../byte-writer";

/** Bits needed for values up to `max`. */
export function bitWidth(max: number): number {
  return max === 0 ? 0 : 32 - Math.clz32(max);
}

/** Values [from, to) bit-packed LSB first, preceded by their run header; `to - from` is a multiple of 8 or the end. */
function packed(out: ByteWriter, values: ArrayLike<number>, from: number, to: number, width: number): void {
  const groups = Math.ceil((to - from) / 8);
  out.varint((groups << 1) | 1);
  out.room(groups * width);
  const buf = out.buf;
  let at = out.at;
  let acc = 0;
  let bits = 0;
  const end = from + groups * 8;
  for (let i = from; i < end; i++) {
    acc |= (i < to ? values[i]! : 0) << bits;
    bits += width;
    while (bits >= 8) {
      buf[at++] = acc & 0xff;
      acc >>>= 8;
      bits -= 8;
    }
  }
  out.at = at;
}

function repeated(out: ByteWriter, value: number, count: number, width: number): void {
  out.varint(count << 1);
  for (let b = 0; b < width; b += 8) out.byte((value >>> b) & 0xff);
}

/** The first `count` values (each below 2^width, width ≤ 24) in the hybrid encoding, appended to `out`. */
export function writeHybrid(out: ByteWriter, values: ArrayLike<number>, count: number, width: number): void {
  if (width === 0) {
    // All zeros: readers take a bit width of 0 as a run of zeros.
    if (count > 0) repeated(out, 0, count, 0);
    return;
  }
  let literal = 0; // start of values not yet written
  let i = 0;
  while (i < count) {
    const v = values[i]!;
    let run = 1;
    while (i + run < count && values[i + run] === v) run++;
    if (run < 8) {
      i += run;
      continue;
    }
    // A run worth RLE: first finish the literal values before it in whole groups of eight,
    // taking the run's first values into the last group if needed.
    const pad = (8 - ((i - literal) % 8)) % 8;
    if (run - pad < 8) {
      i += run;
      continue;
    }
    if (i + pad > literal) packed(out, values, literal, i + pad, width);
    repeated(out, v, run - pad, width);
    i += run;
    literal = i;
  }
  if (literal < count) packed(out, values, literal, count, width);
}
