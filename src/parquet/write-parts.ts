// A Parquet file written a part at a time, for outputs too large to hold whole (a partitioned gold
// dataset, the current and history tables by parts): each part's rows are written as a file of
// their own beside the output, then the parts are joined as its row groups without decoding
// (stitch.ts), and deleted. A task holds one part's rows at a time.
import type { ColumnSpec, Row } from "../arrow/columns";
import { markDone, putDone } from "../r2/done";
import type { OutputFile } from "../types";
import { readFooter, stitchParquetToR2, type ParquetFooter } from "./stitch";
import { writeParquetRows } from "./write";

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
    /** Join the parts into the output and mark it done. */
    async finish(): Promise<OutputFile> {
      if (parts.length === 0) return putDone(bucket, key, await writeParquetRows(columns, []), 0, "application/vnd.apache.parquet");
      const result = await stitchParquetToR2(bucket, parts, key);
      const file: OutputFile = { key, rows: result.rows, bytes: result.bytes, sha256: result.sha256 };
      await markDone(bucket, file);
      return file;
    },
    /** Delete the parts (after finish, or on failure). */
    async discard(): Promise<void> {
      if (parts.length > 0) await bucket.delete(parts.splice(0).map((p) => p.key));
    },
  };
}
