// The row count of a Parquet file from its footer alone (Thrift compact protocol), so a
// multi-gigabyte output can be verified with two small range reads instead of a download.

import { decodeStruct, intField } from "./thrift-compact";

const MAGIC = "PAR1";

/** Footer length from a file's last 8 bytes (`<u32 length>PAR1`). */
export function footerLength(tail8: Uint8Array): number {
  if (tail8.length !== 8 || new TextDecoder().decode(tail8.subarray(4)) !== MAGIC) {
    throw new Error("not a parquet file: missing PAR1 trailer");
  }
  return new DataView(tail8.buffer, tail8.byteOffset, 8).getUint32(0, true);
}

/** num_rows (field 3 of FileMetaData) from the encoded footer. */
export function footerRowCount(footer: Uint8Array): number {
  const rows = intField(decodeStruct(footer), 3);
  if (rows === undefined) throw new Error("parquet footer has no num_rows");
  return Number(rows);
}

/** Row count of a Parquet file held in memory. */
export function rowCountOf(bytes: Uint8Array): number {
  const len = footerLength(bytes.subarray(bytes.length - 8));
  return footerRowCount(bytes.subarray(bytes.length - 8 - len, bytes.length - 8));
}

/** Row count of a Parquet object in R2, from two suffix reads. */
export async function r2RowCount(bucket: R2Bucket, key: string): Promise<number> {
  const tail = await bucket.get(key, { range: { suffix: 8 } });
  if (!tail) throw new Error(`${key}: not found`);
  const len = footerLength(new Uint8Array(await tail.arrayBuffer()));
  const footer = await bucket.get(key, { range: { suffix: len + 8 } });
  if (!footer) throw new Error(`${key}: not found`);
  const bytes = new Uint8Array(await footer.arrayBuffer());
  return footerRowCount(bytes.subarray(0, len));
}
