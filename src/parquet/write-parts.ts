// A Parquet file written a part at a time, for outputs too large to hold whole (a partitioned gold
// dataset, the current and history tables by parts): each part's rows are written as a file of
// their own beside the output, then the parts are joined as its row groups without decoding
// (stitch.ts), and deleted. A task holds one part's rows at a time: refine and silver write
// batches of any size this way (rowGroupWriter).
import type { ColumnSpec, Row } from "../arrow/columns";
import { markDone, putDone } from "../r2/done";
import type { OutputFile } from "../types";
import { readFooter, stitchParquetToR2, type ParquetFooter } from "./stitch";
import { writeParquetRows } from "./write";

const PARQUET = "application/vnd.apache.parquet";

export function partedFile(bucket: R2Bucket, key: string, columns: ColumnSpec[]) {
  const parts: ParquetFooter[] = [];
  return {
    /** Write the next part (none for no rows); returns its row groups. */
    async add(rows: readonly Row[]): Promise<number> {
      if (rows.length === 0) return 0;
      const part = `${key}.parts/p${String(parts.length).padStart(5, "0")}.parquet`;
      await bucket.put(part, await writeParquetRows(columns, rows));
      parts.push(await readFooter(bucket, part));
      return parts.at(-1)!.rowGroups;
    },
    /** Join the parts into the output and mark it done (with `profile` in the marker, when given). */
    async finish(profile?: unknown): Promise<OutputFile> {
      if (parts.length === 0) return putDone(bucket, key, await writeParquetRows(columns, []), 0, PARQUET, profile);
      const result = await stitchParquetToR2(bucket, parts, key);
      const file: OutputFile = { key, rows: result.rows, bytes: result.bytes, sha256: result.sha256 };
      await markDone(bucket, profile === undefined ? file : { ...file, profile });
      return file;
    },
    /** Delete the parts (after finish, or on failure). */
    async discard(): Promise<void> {
      if (parts.length > 0) await bucket.delete(parts.splice(0).map((p) => p.key));
    },
  };
}

/**
 * One output's rows arriving a few at a time (a parser's generator, a sort's chunks): held until
 * a row group's worth, then written as a part. An output that never reached one row group is
 * written whole, with no parts to stitch.
 */
export function rowGroupWriter(bucket: R2Bucket, key: string, columns: ColumnSpec[], groupRows = 65_536) {
  const parts = partedFile(bucket, key, columns);
  let held: Row[] = [];
  let total = 0;
  let written = 0;
  return {
    async add(rows: Iterable<Row>): Promise<void> {
      for (const row of rows) {
        held.push(row);
        total++;
        if (held.length >= groupRows) {
          await parts.add(held.splice(0));
          written++;
        }
      }
    },
    /** Write what is held and mark the output done (with `profile` in the marker, when given). */
    async finish(profile?: unknown): Promise<OutputFile> {
      if (written === 0) return putDone(bucket, key, await writeParquetRows(columns, held.splice(0)), total, PARQUET, profile);
      await parts.add(held.splice(0));
      const file = await parts.finish(profile);
      if (file.rows !== total) throw new Error(`${key} holds ${file.rows} rows, ${total} were written`);
      return file;
    },
    discard: () => parts.discard(),
  };
}
