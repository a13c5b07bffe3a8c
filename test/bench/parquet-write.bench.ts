// Bench (npm run bench, not npm test): sluice's Parquet writer in workerd on the seeds' silver
// rows, best of 5: the whole write as tasks call it (rows → file, footer checked), and its two
// steps apart: reading the row objects into columns, and encoding those columns into the file
// (the step DuckDB's COPY from its columnar table compares with). Every file is read back by
// hyparquet (rows and temperature sum). Prints one "BENCH {json}" line for scripts/bench.ts.
import { decompress } from "fzstd";
import { parquetReadObjects } from "hyparquet";
import { expect, it } from "vitest";
import { readColumn, type ColumnValues } from "../../src/arrow/column-values";
import { joinBytes } from "../../src/bytes";
import { ParquetEncoder } from "../../src/parquet/encode/file";
import { writeParquetRows } from "../../src/parquet/write";
import { getPipeline } from "../helpers";
import { clock, seedsSilverRows } from "./seeds-rows";

const GROUP = 65_536;

async function temperatureSumOf(bytes: Uint8Array): Promise<{ rows: number; sum: number }> {
  const file = bytes.slice().buffer;
  const read = await parquetReadObjects({ file, columns: ["temperature"], compressors: { ZSTD: (input: Uint8Array) => decompress(input) } });
  return { rows: read.length, sum: read.reduce((n, r) => n + ((r.temperature as number | null) ?? 0), 0) };
}

it("writes the seeds' silver rows as one ZSTD Parquet file", async () => {
  const columns = getPipeline("sample-weather").columns;
  const { rows, temperatureSum } = seedsSilverRows();
  const runsMs: number[] = [];
  const toColumnsMs: number[] = [];
  const encodeMs: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 5; i++) {
    let t0 = await clock();
    const groups: ColumnValues[][] = [];
    for (let start = 0; start < rows.length; start += GROUP) {
      const group = rows.slice(start, start + GROUP);
      groups.push(columns.map((spec) => readColumn(spec, group)));
    }
    toColumnsMs.push((await clock()) - t0);
    t0 = await clock();
    const encoder = new ParquetEncoder(columns);
    const pieces = [encoder.header()];
    for (const group of groups) pieces.push(...encoder.addRowGroup(group));
    pieces.push(encoder.finish());
    const file = joinBytes(pieces);
    encodeMs.push((await clock()) - t0);
    groups.length = 0;

    t0 = await clock();
    const out = await writeParquetRows(columns, rows);
    runsMs.push((await clock()) - t0);
    bytes = out.length;

    for (const written of [out, file]) {
      const back = await temperatureSumOf(written);
      expect(back.rows).toBe(rows.length);
      expect(Math.abs(back.sum - temperatureSum)).toBeLessThan(1e-6 * Math.abs(temperatureSum));
    }
  }
  console.log(`BENCH ${JSON.stringify({ bench: "parquet-write-workerd", rows: rows.length, temperatureSum, bytes, runsMs, toColumnsMs, encodeMs })}`);
}, 600_000);
