// One column chunk of a row group: an optional dictionary page and its data pages (format v1:
// definition levels, then the values: dictionary indices, integers as deltas, or plain), each
// ZSTD-compressed behind its Thrift page header. A data page holds about PAGE_BYTES of values at
// most, so a row group of long strings is several pages, not one the size of all of them.
import { T, encodeStruct, type TStruct } from "../thrift-compact";
import { ByteWriter } from "../byte-writer";
import { utf8Length } from "../../arrow/utf8";
import type { EncoderColumn, RowList } from "./column";
import { integersOf, writeDelta } from "./delta";
import { buildDictionary, type Dictionary } from "./dictionary";
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

/** A data page holds values of about this many bytes at most (as most writers split them: 1 MiB). */
export const PAGE_BYTES = 1 << 20;

/** A data page's rows [from, to) and its values [first, last): the rows that are not null among them. */
interface PageRange {
  from: number;
  to: number;
  first: number;
  last: number;
}

/**
 * The chunk's data pages: rows cut where the values written so far reach PAGE_BYTES (a string
 * counts its UTF-8 and the 4 bytes of its length), always after a multiple of eight rows so each
 * page's definition levels are whole bytes of the validity bitmap.
 */
function pageRanges(column: EncoderColumn, dictionary: Dictionary | undefined): PageRange[] {
  const { length, present, texts, count } = column;
  const plainTexts = texts && !dictionary ? texts : undefined;
  const fixed = dictionary ? Math.ceil(bitWidth(dictionary.entries.length - 1) / 8) : column.stride * 4 || 1 / 8;
  let chars = 0; // a string's UTF-8 is 3 bytes a UTF-16 unit at most
  if (plainTexts) for (let k = 0; k < count; k++) chars += plainTexts[present ? present[k]! : k]!.length;
  if ((plainTexts ? 4 * count + 3 * chars : fixed * count) <= PAGE_BYTES) return [{ from: 0, to: length, first: 0, last: count }];
  const sizeOf = plainTexts ? (row: number) => 4 + utf8Length(plainTexts[row]!) : () => fixed;
  const pages: PageRange[] = [];
  let from = 0;
  let first = 0;
  let k = 0; // values before `row`
  let bytes = 0;
  for (let row = 0; row < length; row++) {
    if (!present || present[k] === row) {
      bytes += sizeOf(row);
      k++;
    }
    if (bytes >= PAGE_BYTES && (row + 1) % 8 === 0 && row + 1 < length) {
      pages.push({ from, to: row + 1, first, last: k });
      from = row + 1;
      first = k;
      bytes = 0;
    }
  }
  pages.push({ from, to: length, first, last: k });
  return pages;
}

/**
 * Definition levels of an optional column's rows [from, to) (1 a value, 0 a null), as a v1 data
 * page holds them: length-prefixed hybrid. Levels of width 1 bit-packed are the validity bitmap
 * itself (`from` is a multiple of 8); with no nulls they are one run.
 */
function writeLevels(out: ByteWriter, column: EncoderColumn, { from, to }: PageRange): void {
  const lengthAt = out.at;
  out.uint32(0);
  if (column.present === undefined) {
    if (to > from) {
      out.varint((to - from) << 1);
      out.byte(1);
    }
  } else {
    const bytes = (to - from + 7) >> 3;
    out.varint((bytes << 1) | 1);
    out.bytes(column.validity.subarray(from >> 3, (from >> 3) + bytes));
  }
  new DataView(out.buf.buffer, out.buf.byteOffset).setUint32(lengthAt, out.at - lengthAt - 4, true);
}

/** The rows holding the values [first, last) of a page. */
function pageRows(column: EncoderColumn, { first, last }: PageRange): RowList {
  if (column.present) return column.present.subarray(first, last);
  if (first === 0) return last;
  const rows = new Int32Array(last - first);
  for (let k = 0; k < rows.length; k++) rows[k] = first + k;
  return rows;
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
  const valueEncodings = new Set<number>();
  const integers = dictionary || column.doubles ? undefined : integersOf(column, rows);
  for (const range of pageRanges(column, dictionary)) {
    scratch.at = 0;
    if (column.spec.nullable) writeLevels(scratch, column, range);
    let valueEncoding: number = Encoding.PLAIN;
    if (dictionary) {
      const width = bitWidth(dictionary.entries.length - 1);
      scratch.byte(width);
      writeHybrid(scratch, dictionary.indices.subarray(range.first, range.last), range.last - range.first, width);
      valueEncoding = Encoding.RLE_DICTIONARY;
    } else if (integers && writeDelta(scratch, integers.subarray(range.first, range.last))) valueEncoding = Encoding.DELTA_BINARY_PACKED;
    else writePlain(scratch, column, pageRows(column, range));
    valueEncodings.add(valueEncoding);
    const header = struct(5, [i32(1, range.to - range.from), i32(2, valueEncoding), i32(3, Encoding.RLE), i32(4, Encoding.RLE)]);
    add(page([i32(1, PageType.DATA_PAGE), header], scratch.view(), level));
  }

  if (scratch.buf.length > SCRATCH_KEPT) scratch = new ByteWriter(SCRATCH_SIZE);
  const stats = minMax(column, dictionary ? dictionary.entries : rows);
  const nulls = column.length - column.count;
  const encodings = dictionary ? [Encoding.PLAIN, Encoding.RLE, Encoding.RLE_DICTIONARY] : [...valueEncodings, Encoding.RLE];
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
