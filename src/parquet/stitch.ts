// Parquet files joined without decoding them: every input's column chunks are copied byte for
// byte into one R2 object and the inputs' row groups listed in one footer, their offsets moved.
// CPU and memory stay flat whatever the size (a part buffer and the footers), so the upper
// levels of the aggregate phase, whose inputs already hold full row groups, cost copies only.
import { joinBytes } from "../bytes";
import { R2Sink, type SinkResult } from "../r2/multipart-sink";
import { T, decodeStruct, encodeStruct, field, intField, listField, removeFields, setInt, structField, type TStruct } from "./thrift-compact";
import { footerLength, r2RowCount } from "./thrift-footer";

const MAGIC = new TextEncoder().encode("PAR1");
/** Row groups are copied in reads of this size. */
const READ_SIZE = 4 * 1024 * 1024;
/** Most footers fit in one suffix read of this size. */
const TAIL_READ = 64 * 1024;

// Thrift field ids (parquet.thrift).
const FILE = { schema: 2, numRows: 3, rowGroups: 4, encryption: 8 } as const;
const ROW_GROUP = { columns: 1, numRows: 3, fileOffset: 5, ordinal: 7 } as const;
const CHUNK = { filePath: 1, fileOffset: 2, meta: 3, pageIndexes: [4, 5, 6, 7] } as const;
const META = { compressedSize: 7, dataPage: 9, indexPage: 10, dictionaryPage: 11, bloomFilter: [14, 15] } as const;

export interface ParquetFooter {
  key: string;
  metadata: TStruct;
  rows: number;
  rowGroups: number;
  /** End of the last column chunk: bytes [4, dataEnd) hold every row group. */
  dataEnd: number;
  /** The encoded schema, compared byte for byte between inputs. */
  schema: Uint8Array;
  /** Why the file cannot be stitched, if it cannot. */
  unstitchable?: string;
}

function chunks(rowGroup: TStruct): TStruct[] {
  return (listField(rowGroup, ROW_GROUP.columns)?.items ?? []) as TStruct[];
}

/** A Parquet object's footer, decoded, from one or two suffix reads. */
export async function readFooter(bucket: R2Bucket, key: string): Promise<ParquetFooter> {
  const tail = await bucket.get(key, { range: { suffix: TAIL_READ } });
  if (!tail) throw new Error(`${key} is missing`);
  let bytes = new Uint8Array(await tail.arrayBuffer());
  const length = footerLength(bytes.subarray(bytes.length - 8));
  if (length + 8 > bytes.length) {
    const whole = await bucket.get(key, { range: { suffix: length + 8 } });
    if (!whole) throw new Error(`${key} is missing`);
    bytes = new Uint8Array(await whole.arrayBuffer());
  }
  const metadata = decodeStruct(bytes.subarray(bytes.length - 8 - length, bytes.length - 8));
  const rowGroups = (listField(metadata, FILE.rowGroups)?.items ?? []) as TStruct[];
  let dataEnd = 4;
  let unstitchable: string | undefined = field(metadata, FILE.encryption) ? "encrypted" : undefined;
  for (const rg of rowGroups) {
    for (const chunk of chunks(rg)) {
      if (field(chunk, CHUNK.filePath)) unstitchable = "column chunks in other files";
      const meta = structField(chunk, CHUNK.meta);
      if (!meta) {
        unstitchable = "column chunk without metadata";
        continue;
      }
      const start = intField(meta, META.dictionaryPage) ?? intField(meta, META.dataPage) ?? 0n;
      const end = Number(start + (intField(meta, META.compressedSize) ?? 0n));
      if (end > dataEnd) dataEnd = end;
    }
  }
  const schemaField = field(metadata, FILE.schema);
  const schema = encodeStruct({ fields: schemaField ? [schemaField] : [] });
  return { key, metadata, rows: Number(intField(metadata, FILE.numRows) ?? 0n), rowGroups: rowGroups.length, dataEnd, schema, unstitchable };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A row group moved by `delta` bytes; page indexes and bloom filters are not copied, so their references go. */
function moved(rowGroup: TStruct, delta: bigint, ordinal: number | undefined): TStruct {
  const offset = intField(rowGroup, ROW_GROUP.fileOffset);
  if (offset !== undefined) setInt(rowGroup, ROW_GROUP.fileOffset, T.I64, offset + delta);
  if (ordinal === undefined) removeFields(rowGroup, [ROW_GROUP.ordinal]);
  else setInt(rowGroup, ROW_GROUP.ordinal, T.I16, BigInt(ordinal));
  for (const chunk of chunks(rowGroup)) {
    removeFields(chunk, CHUNK.pageIndexes);
    const fileOffset = intField(chunk, CHUNK.fileOffset);
    if (fileOffset !== undefined && fileOffset > 0n) setInt(chunk, CHUNK.fileOffset, T.I64, fileOffset + delta);
    const meta = structField(chunk, CHUNK.meta)!;
    removeFields(meta, META.bloomFilter);
    for (const id of [META.dataPage, META.indexPage, META.dictionaryPage]) {
      const at = intField(meta, id);
      if (at !== undefined) setInt(meta, id, T.I64, at + delta);
    }
  }
  return rowGroup;
}

/** Refuse inputs that cannot be joined: a different schema, or an unstitchable file. */
export function stitchable(footers: readonly ParquetFooter[]): string | undefined {
  for (const f of footers) {
    if (f.unstitchable) return `${f.key}: ${f.unstitchable}`;
    if (!sameBytes(f.schema, footers[0]!.schema)) return `${f.key} has a different schema from ${footers[0]!.key}`;
  }
  return undefined;
}

/**
 * Join `footers`' files (in order) into `outputKey` by copying their row groups. The caller has
 * checked them with `stitchable`. The output's footer is read back and its rows checked.
 */
export async function stitchParquetToR2(
  bucket: R2Bucket,
  footers: readonly ParquetFooter[],
  outputKey: string,
  partSize?: number,
): Promise<SinkResult & { rows: number }> {
  const problem = stitchable(footers);
  if (problem) throw new Error(`cannot stitch: ${problem}`);
  const sink = new R2Sink(bucket, outputKey, partSize);
  const totalGroups = footers.reduce((n, f) => n + f.rowGroups, 0);
  const rowGroups: TStruct[] = [];
  let rows = 0;
  let result: SinkResult;
  try {
    await sink.write(MAGIC);
    for (const f of footers) {
      const delta = BigInt(sink.bytes - 4);
      // The row groups, in reads of at most READ_SIZE (fewer, larger copies than a body stream's chunks).
      for (let offset = 4; offset < f.dataEnd; offset += READ_SIZE) {
        const length = Math.min(READ_SIZE, f.dataEnd - offset);
        const slice = await bucket.get(f.key, { range: { offset, length } });
        if (!slice) throw new Error(`${f.key} is missing`);
        const bytes = new Uint8Array(await slice.arrayBuffer());
        if (bytes.length !== length) throw new Error(`${f.key}: read ${bytes.length} bytes at ${offset}, expected ${length}`);
        await sink.write(bytes);
      }
      if (sink.bytes - 4 - Number(delta) !== f.dataEnd - 4)
        throw new Error(`${f.key}: read ${sink.bytes - 4 - Number(delta)} bytes of row groups, expected ${f.dataEnd - 4}`);
      for (const rg of (listField(f.metadata, FILE.rowGroups)?.items ?? []) as TStruct[]) {
        rowGroups.push(moved(rg, delta, totalGroups <= 32_767 ? rowGroups.length : undefined));
      }
      rows += f.rows;
    }
    const first = footers[0]!.metadata;
    const metadata: TStruct = {
      fields: first.fields
        .filter((x) => x.id !== FILE.numRows && x.id !== FILE.rowGroups)
        .concat([
          { id: FILE.numRows, type: T.I64, value: BigInt(rows) },
          { id: FILE.rowGroups, type: T.LIST, value: { elem: T.STRUCT, items: rowGroups } },
        ]),
    };
    const footer = encodeStruct(metadata);
    const trailer = new Uint8Array(8);
    new DataView(trailer.buffer).setUint32(0, footer.length, true);
    trailer.set(MAGIC, 4);
    await sink.write(footer);
    await sink.write(trailer);
    result = await sink.finish();
  } catch (err) {
    await sink.abort();
    throw err;
  }
  const written = await r2RowCount(bucket, outputKey);
  if (written !== rows) throw new Error(`stitched file ${outputKey} holds ${written} rows, expected ${rows}`);
  return { ...result, rows };
}

/** Where a row group's column chunks lie in its file: [start, end). */
function byteRange(rowGroup: TStruct): [number, number] {
  let [start, end] = [Infinity, 0];
  for (const chunk of chunks(rowGroup)) {
    const meta = structField(chunk, CHUNK.meta)!;
    const at = Number(intField(meta, META.dictionaryPage) ?? intField(meta, META.dataPage) ?? 0n);
    start = Math.min(start, at);
    end = Math.max(end, at + Number(intField(meta, META.compressedSize) ?? 0n));
  }
  return [start, end];
}

/**
 * Row groups `groups` of the file `footer` describes, read by range and written as a Parquet file
 * of their own (their bytes, and a footer listing them, offsets moved): a part of a large file
 * read without the rest of it.
 */
export async function rowGroupsFile(bucket: R2Bucket, footer: ParquetFooter, groups: readonly number[]): Promise<Uint8Array> {
  const all = (listField(footer.metadata, FILE.rowGroups)?.items ?? []) as TStruct[];
  const pieces: Uint8Array[] = [MAGIC];
  const selected: TStruct[] = [];
  let size = MAGIC.length;
  let rows = 0n;
  for (const g of groups) {
    const rowGroup = all[g];
    if (!rowGroup) throw new Error(`${footer.key} has no row group ${g}`);
    const [start, end] = byteRange(rowGroup);
    const object = await bucket.get(footer.key, { range: { offset: start, length: end - start } });
    if (!object) throw new Error(`${footer.key} is missing`);
    const bytes = new Uint8Array(await object.arrayBuffer());
    if (bytes.length !== end - start) throw new Error(`${footer.key}: read ${bytes.length} bytes of row group ${g}, expected ${end - start}`);
    // A copy of the row group's metadata, moved to where its bytes land in the new file.
    selected.push(moved(decodeStruct(encodeStruct(rowGroup)), BigInt(size - start), selected.length));
    rows += intField(rowGroup, ROW_GROUP.numRows) ?? 0n;
    pieces.push(bytes);
    size += bytes.length;
  }
  const metadata: TStruct = {
    fields: footer.metadata.fields
      .filter((x) => x.id !== FILE.numRows && x.id !== FILE.rowGroups)
      .concat([
        { id: FILE.numRows, type: T.I64, value: rows },
        { id: FILE.rowGroups, type: T.LIST, value: { elem: T.STRUCT, items: selected } },
      ]),
  };
  const encoded = encodeStruct(metadata);
  const trailer = new Uint8Array(8);
  new DataView(trailer.buffer).setUint32(0, encoded.length, true);
  trailer.set(MAGIC, 4);
  pieces.push(encoded, trailer);
  return joinBytes(pieces);
}
