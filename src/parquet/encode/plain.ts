// PLAIN encoding of chosen rows' values (a data page's values, a dictionary page's entries):
// fixed-width values little-endian, strings as a 4-byte length and their bytes, booleans a bit each.
import { ByteWriter } from "../byte-writer";
import { countOf, rowAt, utf8Of, type EncoderColumn, type RowList } from "./column";

export function writePlain(out: ByteWriter, column: EncoderColumn, rows: RowList): void {
  const count = countOf(rows);
  if (column.words) {
    const stride = column.stride;
    if (typeof rows === "number") {
      const bytes = new Uint8Array(column.words.buffer, column.words.byteOffset, count * stride * 4);
      out.bytes(bytes);
      return;
    }
    out.room(count * stride * 4);
    const at = out.at;
    // out.buf may not be 4-byte aligned at `at`: write through a fresh word array and copy once.
    const words = new Int32Array(count * stride);
    const src = column.words;
    if (stride === 2) {
      for (let k = 0; k < count; k++) {
        const row = rows[k]!;
        words[2 * k] = src[2 * row]!;
        words[2 * k + 1] = src[2 * row + 1]!;
      }
    } else for (let k = 0; k < count; k++) words[k] = src[rows[k]!]!;
    out.buf.set(new Uint8Array(words.buffer), at);
    out.at = at + words.byteLength;
    return;
  }
  if (column.texts) {
    const { offsets, data } = utf8Of(column.texts, rows);
    out.room(4 * count + data.length);
    for (let k = 0; k < count; k++) {
      out.uint32(offsets[k + 1]! - offsets[k]!);
      out.bytes(data.subarray(offsets[k]!, offsets[k + 1]!));
    }
    return;
  }
  const bits = column.bits!;
  const packed = new Uint8Array((count + 7) >> 3);
  for (let k = 0; k < count; k++) {
    const row = rowAt(rows, k);
    if ((bits[row >> 3]! >> (row & 7)) & 1) packed[k >> 3]! |= 1 << (k & 7);
  }
  out.bytes(packed);
}
