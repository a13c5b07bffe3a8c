// An Arrow table (as read from Parquet) → rows, a column at a time: each column's values taken
// from its buffers in one loop of its own type, then the rows assembled. Timestamps become Dates
// and 64-bit integers numbers. Types sluice does not write are read through Arrow's own getters.
import { type Data, type Field, type Table, makeVector, Precision, TimeUnit, Type } from "apache-arrow";
import { TWO_32 } from "./column-values";
import type { Row } from "./columns";
import { decodeUtf8 } from "./utf8";

export function tableToRows(table: Table): Row[] {
  const fields = table.schema.fields;
  const names = fields.map((f) => f.name);
  const rows: Row[] = new Array(table.numRows);
  let base = 0;
  for (const batch of table.batches) {
    const columns = fields.map((f, j) => columnValues(batch.data.children[j]!, f));
    for (let i = 0; i < batch.numRows; i++) {
      const row: Row = {};
      for (let j = 0; j < names.length; j++) row[names[j]!] = columns[j]![i];
      rows[base + i] = row;
    }
    base += batch.numRows;
  }
  return rows;
}

/** One column's values, null where the bitmap says so. */
function columnValues(data: Data, field: Field): unknown[] {
  const n = data.length;
  const bitmap = data.nullCount > 0 ? data.nullBitmap : undefined;
  const offset = data.offset;
  const valid = bitmap ? (i: number) => (bitmap[(offset + i) >> 3]! & (1 << ((offset + i) & 7))) !== 0 : () => true;
  const out: unknown[] = new Array(n);
  const type = field.type as { bitWidth?: number; isSigned?: boolean; precision?: Precision; unit?: TimeUnit };
  const typeId = data.typeId;
  if (typeId === Type.Utf8) return decodeUtf8(data.values as Uint8Array, data.valueOffsets as Int32Array, n, valid);
  if ((typeId === Type.Int && type.bitWidth! <= 32) || (typeId === Type.Float && type.precision !== Precision.HALF)) {
    const values = data.values as ArrayLike<number>;
    for (let i = 0; i < n; i++) out[i] = valid(i) ? values[i] : null;
    return out;
  }
  if (typeId === Type.Bool) {
    const bits = data.values as Uint8Array;
    for (let i = 0; i < n; i++) out[i] = valid(i) ? (bits[(offset + i) >> 3]! & (1 << ((offset + i) & 7))) !== 0 : null;
    return out;
  }
  const dates = typeId === Type.Timestamp && type.unit === TimeUnit.MILLISECOND;
  if (dates || (typeId === Type.Int && type.bitWidth === 64 && type.isSigned)) {
    // Each value from its two 32-bit halves: hi × 2^32 + lo rounds once, as Number(bigint) does.
    const values = data.values as BigInt64Array;
    const lo = new Uint32Array(values.buffer, values.byteOffset, n * 2);
    const hi = new Int32Array(values.buffer, values.byteOffset, n * 2);
    for (let i = 0; i < n; i++) {
      if (!valid(i)) out[i] = null;
      else {
        const v = hi[2 * i + 1]! * TWO_32 + lo[2 * i]!;
        out[i] = dates ? new Date(v) : v;
      }
    }
    return out;
  }
  // Anything else through Arrow's getters (timestamps in other units come back as milliseconds).
  const vector = makeVector(data);
  const isTime = field.typeId === Type.Timestamp;
  for (let i = 0; i < n; i++) {
    const v: unknown = vector.get(i) ?? null;
    out[i] = v === null ? null : isTime ? new Date(Number(v)) : typeof v === "bigint" ? Number(v) : v;
  }
  return out;
}
