// One column chunk of a row group: an optional dictionary page and one data page (format v1:
// definition levels, then the values: dictionary indices, integers as deltas, or plain), each
// ZSTD-compressed behind its Thrift page header.
import { T, encodeStruct, type TStruct } from "../thrift-compact";
import { ByteWriter } from "../byte-writer";
import type { EncoderColumn, RowList } from "./column";
import { integersOf, writeDelta } from "./delta";
import { buildDictionary } from "./dictionary";
import { writePlain } from "./plain";
import { bitWidth, writeHybrid } from "./rle";
import { minMax } from "./stats";
import { Codec, Encoding, PageType, Type, binary, i32, i32s, i64, list, struct } from "./thrift";
import { compressZstd } from "./zstd";

export interface EncodedChunk {
  /** The pages, headers included, one after another. */
  bytes: Uint8Array[];
  length: number;
  uncompressed: number;
  /** ColumnMetaData's fields, offsets relative to the chunk (the file adds the chunk's position). */
  meta(at: number, path: string): TStruct;
}

/**
 * Dictionaries hold at most this many entries (indices of 16 bits at most), and no more than half
 * a chunk's values: past that plain values compress as well.
 */
const MAX_DICTIONARY = 65_536;

export const PHYSICAL: Record<EncoderColumn["spec"]["type"], number> = {
  string: Type.BYTE_ARRAY,
  float64: Type.DOUBLE,
  int32: Type.INT32,
  int64: Type.INT64,
  timestamp: Type.INT64,
  bool: Type.BOOLEAN,
};

/** Page bodies are built here; a buffer grown past SCRATCH_KEPT for a large page is let go after it. */
const SCRATCH_SIZE = 1 << 20;
const SCRATCH_KEPT = 8 << 20;
let scratch = new ByteWriter(SCRATCH_SIZE);

function page(header: TStruct["fields"], body: Uint8Array, level: number): { bytes: Uint8Array[]; length: number; uncompressed: number } {
  const compressed = compressZstd(body, level);
  const head = encodeStruct({ fields: [...header, i32(2, body.length), i32(3, compressed.length)] });
  return { bytes: [head, compressed], length: head.length + compressed.length, uncompressed: head.length + body.length };
}

/**
 * Definition levels of an optional column (1 a value, 0 a null), as a v1 data page holds them:
 * length-prefixed hybrid. Levels of width 1 bit-packed are the validity bitmap itself; with no
 * nulls they are one run.
 */
function writeLevels(out: ByteWriter, column: EncoderColumn): void {
  const lengthAt = out.at;
  out.uint32(0);
  if (column.present === undefined) {
    if (column.length > 0) {
      out.varint(column.length << 1);
      out.byte(1);
    }
  } else {
    const bytes = (column.length + 7) >> 3;
    out.varint((bytes << 1) | 1);
    out.bytes(column.validity.subarray(0, bytes));
  }
  new DataView(out.buf.buffer, out.buf.byteOffset).setUint32(lengthAt, out.at - lengthAt - 4, true);
}

export function encodeChunk(column: EncoderColumn, level: number): EncodedChunk {
  const dictionary = buildDictionary(column, Math.min(MAX_DICTIONARY, Math.max(16, column.count >> 1)));
  const rows: RowList = column.present ?? column.count;
  const pages: Uint8Array[] = [];
  let length = 0;
  let uncompressed = 0;
  const add = (p: ReturnType<typeof page>) => {
    pages.push(...p.bytes);
    length += p.length;
    uncompressed += p.uncompressed;
  };

  if (dictionary) {
    scratch.at = 0;
    writePlain(scratch, column, dictionary.entries);
    add(page([i32(1, PageType.DICTIONARY_PAGE), struct(7, [i32(1, dictionary.entries.length), i32(2, Encoding.PLAIN)])], scratch.view(), level));
  }
  const dataPageAt = length; // from the chunk's start, after the dictionary page
  scratch.at = 0;
  if (column.spec.nullable) writeLevels(scratch, column);
  let valueEncoding: number = Encoding.PLAIN;
  if (dictionary) {
    const width = bitWidth(dictionary.entries.length - 1);
    scratch.byte(width);
    writeHybrid(scratch, dictionary.indices, column.count, width);
    valueEncoding = Encoding.RLE_DICTIONARY;
  } else {
    const integers = column.doubles ? undefined : integersOf(column, rows);
    if (integers && writeDelta(scratch, integers)) valueEncoding = Encoding.DELTA_BINARY_PACKED;
    else writePlain(scratch, column, rows);
  }
  add(page([i32(1, PageType.DATA_PAGE), struct(5, [i32(1, column.length), i32(2, valueEncoding), i32(3, Encoding.RLE), i32(4, Encoding.RLE)])], scratch.view(), level));

  if (scratch.buf.length > SCRATCH_KEPT) scratch = new ByteWriter(SCRATCH_SIZE);
  const stats = minMax(column, dictionary ? dictionary.entries : rows);
  const nulls = column.length - column.count;
  const encodings = dictionary ? [Encoding.PLAIN, Encoding.RLE, Encoding.RLE_DICTIONARY] : [valueEncoding, Encoding.RLE];
  return {
    bytes: pages,
    length,
    uncompressed,
    meta: (at, path) => ({
      fields: [
        i32(1, PHYSICAL[column.spec.type]),
        i32s(2, encodings),
        list(3, T.BINARY, [new TextEncoder().encode(path)]),
        i32(4, Codec.ZSTD),
        i64(5, column.length),
        i64(6, uncompressed),
        i64(7, length),
        i64(9, at + dataPageAt),
        ...(dictionary ? [i64(11, at)] : []),
        struct(12, [i64(3, nulls), ...(stats ? [binary(5, stats.max), binary(6, stats.min)] : [])]),
      ],
    }),
  };
}
