// Rows → a Parquet file, written by sluice itself: per row group, each column's values are read
// out of the rows (src/arrow/column-values.ts), dictionary- or plain-encoded into pages and
// compressed with ZSTD; the footer carries the schema with logical types, chunk statistics, and the Arrow schema (ARROW:schema) so
// that Arrow readers get back exactly the types written.
import { Table, tableToIPC } from "apache-arrow";
import { arrowSchema, type ColumnSpec, type Row } from "../../arrow/columns";
import { readColumn, type ColumnValues } from "../../arrow/column-values";
import { joinBytes } from "../../bytes";
import { T, encodeStruct, type TField, type TStruct } from "../thrift-compact";
import { encodeChunk, PHYSICAL } from "./chunk";
import { encoderColumn } from "./column";
import { ConvertedType, Repetition, bool, i32, i64, struct, structs, text } from "./thrift";

const MAGIC = new TextEncoder().encode("PAR1");

export interface ParquetWriteOptions {
  /** Rows per row group (default 65,536). */
  rowGroupSize?: number;
  /** ZSTD level (default 3). */
  level?: number;
}

function schemaElement(spec: ColumnSpec): TStruct {
  const fields = [i32(1, PHYSICAL[spec.type]), i32(3, spec.nullable ? Repetition.OPTIONAL : Repetition.REQUIRED), text(4, spec.name)];
  if (spec.type === "string") fields.push(i32(6, ConvertedType.UTF8), struct(10, [struct(1, [])]));
  if (spec.type === "timestamp") {
    // TIMESTAMP(isAdjustedToUTC = true, unit = MILLIS)
    fields.push(i32(6, ConvertedType.TIMESTAMP_MILLIS), struct(10, [struct(8, [bool(1, true), struct(2, [struct(1, [])])])]));
  }
  return { fields };
}

/** The Arrow IPC schema message, base64, as Arrow's Parquet writers store it under ARROW:schema. */
function arrowSchemaMetadata(columns: ColumnSpec[]): string {
  const stream = tableToIPC(new Table(arrowSchema(columns)), "stream");
  // The stream is the schema message, then an end-of-stream marker (0xFFFFFFFF, then 0) of 8 bytes.
  const message = stream.subarray(0, stream.length - 8);
  let binaryText = "";
  for (let i = 0; i < message.length; i += 0x8000) binaryText += String.fromCharCode(...message.subarray(i, i + 0x8000));
  return btoa(binaryText);
}

/**
 * A Parquet file built a row group at a time from columns of values, for a caller that writes
 * its bytes out as they come: `header()` first, then each row group's bytes as `addRowGroup`
 * returns them, then `finish()`'s footer. Only the row groups' metadata is held.
 */
export class ParquetEncoder {
  private at = MAGIC.length;
  private rows = 0;
  private readonly rowGroups: TStruct[] = [];
  private readonly level: number;

  constructor(
    private readonly columns: ColumnSpec[],
    options: { level?: number } = {},
  ) {
    this.level = options.level ?? 3;
  }

  /** The file's first bytes. */
  header(): Uint8Array {
    return MAGIC;
  }

  /** One row group, a value column per column spec, all of one length: its bytes, to follow what came before. */
  addRowGroup(values: readonly ColumnValues[]): Uint8Array[] {
    const length = values[0]?.length ?? 0;
    if (values.length !== this.columns.length || values.some((v) => v.length !== length)) {
      throw new Error(`a row group needs ${this.columns.length} columns of one length`);
    }
    if (length === 0) return [];
    const groupAt = this.at;
    const pieces: Uint8Array[] = [];
    const chunks: TStruct[] = [];
    let uncompressed = 0;
    this.columns.forEach((spec, c) => {
      const chunk = encodeChunk(encoderColumn(spec, values[c]!), this.level);
      chunks.push({ fields: [i64(2, this.at), struct(3, chunk.meta(this.at, spec.name).fields)] });
      pieces.push(...chunk.bytes);
      this.at += chunk.length;
      uncompressed += chunk.uncompressed;
    });
    const ordinal: TField = { id: 7, type: T.I16, value: BigInt(this.rowGroups.length) };
    this.rowGroups.push({ fields: [structs(1, chunks), i64(2, uncompressed), i64(3, length), i64(5, groupAt), i64(6, this.at - groupAt), ordinal] });
    this.rows += length;
    return pieces;
  }

  /** The footer and the file's last 8 bytes, after the last row group. */
  finish(): Uint8Array {
    const root: TStruct = { fields: [text(4, "arrow_schema"), i32(5, this.columns.length)] };
    const footer = encodeStruct({
      fields: [
        i32(1, 1),
        structs(2, [root, ...this.columns.map(schemaElement)]),
        i64(3, this.rows),
        structs(4, this.rowGroups),
        structs(5, [{ fields: [text(1, "ARROW:schema"), text(2, arrowSchemaMetadata(this.columns))] }]),
        text(6, "sluice"),
        // ColumnOrder: TYPE_ORDER for every column, so readers trust min_value / max_value.
        structs(7, this.columns.map(() => ({ fields: [struct(1, [])] }))),
      ],
    });
    const tail = new Uint8Array(8);
    new DataView(tail.buffer).setUint32(0, footer.length, true);
    tail.set(MAGIC, 4);
    return joinBytes([footer, tail]);
  }
}

/** Rows → a Parquet file, `rowGroupSize` rows (default 65,536) a row group. */
export function encodeParquet(columns: ColumnSpec[], rows: readonly Row[], options: ParquetWriteOptions = {}): Uint8Array {
  const groupSize = options.rowGroupSize ?? 65_536;
  const encoder = new ParquetEncoder(columns, options);
  const pieces = [encoder.header()];
  for (let start = 0; start < rows.length; start += groupSize) {
    const group = rows.slice(start, start + groupSize);
    pieces.push(...encoder.addRowGroup(columns.map((spec) => readColumn(spec, group))));
  }
  pieces.push(encoder.finish());
  return joinBytes(pieces);
}
