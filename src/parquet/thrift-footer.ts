// The row count of a Parquet file from its footer alone (Thrift compact protocol), so a
// multi-gigabyte output can be verified with two small range reads instead of a download.

const MAGIC = "PAR1";

class CompactReader {
  private at = 0;
  private readonly buf: Uint8Array;
  constructor(buf: Uint8Array) {
    this.buf = buf;
  }

  private byte(): number {
    if (this.at >= this.buf.length) throw new Error("parquet footer: unexpected end");
    return this.buf[this.at++]!;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  }

  zigzag(): bigint {
    const n = this.varint();
    return (n >> 1n) ^ -(n & 1n);
  }

  skip(type: number): void {
    switch (type) {
      case 1: // bool true
      case 2: // bool false (in a struct field the value is in the type)
        return;
      case 3:
        this.at += 1;
        return;
      case 4:
      case 5:
      case 6:
        this.varint();
        return;
      case 7:
        this.at += 8;
        return;
      case 8: {
        const length = Number(this.varint()); // read before `this.at +=` takes its value
        this.at += length;
        return;
      }
      case 9:
      case 10: {
        const header = this.byte();
        let size = header >> 4;
        if (size === 15) size = Number(this.varint());
        const elem = header & 0x0f;
        for (let i = 0; i < size; i++) {
          if (elem === 1 || elem === 2) this.at += 1;
          else this.skip(elem);
        }
        return;
      }
      case 11: {
        const size = Number(this.varint());
        if (size === 0) return;
        const kinds = this.byte();
        for (let i = 0; i < size; i++) {
          this.skip(kinds >> 4);
          this.skip(kinds & 0x0f);
        }
        return;
      }
      case 12:
        this.struct(() => false);
        return;
      default:
        throw new Error(`parquet footer: unknown thrift type ${type}`);
    }
  }

  /** Walk a struct's fields; `visit` returns true when it consumed the field's value. */
  struct(visit: (id: number, type: number) => boolean): void {
    let lastId = 0;
    for (;;) {
      const header = this.byte();
      if (header === 0) return;
      const delta = header >> 4;
      const type = header & 0x0f;
      const id = delta === 0 ? Number(this.zigzag()) : lastId + delta;
      lastId = id;
      if (!visit(id, type)) this.skip(type);
    }
  }
}

/** Footer length from a file's last 8 bytes (`<u32 length>PAR1`). */
export function footerLength(tail8: Uint8Array): number {
  if (tail8.length !== 8 || new TextDecoder().decode(tail8.subarray(4)) !== MAGIC) {
    throw new Error("not a parquet file: missing PAR1 trailer");
  }
  return new DataView(tail8.buffer, tail8.byteOffset, 8).getUint32(0, true);
}

/** num_rows (field 3 of FileMetaData) from the encoded footer. */
export function footerRowCount(footer: Uint8Array): number {
  const reader = new CompactReader(footer);
  let rows: bigint | undefined;
  reader.struct((id, type) => {
    if (id === 3 && type === 6) {
      rows = reader.zigzag();
      return true;
    }
    return false;
  });
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
