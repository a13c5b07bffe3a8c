// Bench (npm run bench, not npm test): sluice's Parquet writer in workerd on the seeds' silver
// rows. Prints one "BENCH {json}" line for scripts/bench.ts.
import { it } from "vitest";
import { writeParquetRows } from "../../src/parquet/write";
import { getPipeline } from "../helpers";
import { clock, seedsSilverRows } from "./seeds-rows";

it("writes the seeds' silver rows as one ZSTD Parquet file", async () => {
  const columns = getPipeline("sample-weather").columns;
  const { rows, temperatureSum } = seedsSilverRows();
  const runs: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 3; i++) {
    const t0 = await clock();
    const out = await writeParquetRows(columns, rows);
    runs.push((await clock()) - t0);
    bytes = out.length;
  }
  console.log(`BENCH ${JSON.stringify({ bench: "parquet-write-workerd", rows: rows.length, temperatureSum, bytes, runsMs: runs })}`);
}, 600_000);
