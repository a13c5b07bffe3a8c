// Bench section 4, step 1 (npm run bench): the merge's inputs, written by sluice's own writer.
// Each file holds 10 stations × 13 years hourly (1,139,760 rows, full 65,536-row groups), like
// a first-level merge output; Node keeps them on disk for DuckDB and the merge step.
import { it } from "vitest";
import { writeParquetRows } from "../../src/parquet/write";
import { getPipeline } from "../helpers";
import { benchVar, silverRows } from "./seeds-rows";

it("writes the merge inputs", async () => {
  const columns = getPipeline("sample-weather").columns;
  const url = benchVar("BENCH_FILES_URL");
  const files = Number(benchVar("BENCH_MERGE_FILES"));
  let rows = 0;
  let bytes = 0;
  for (let f = 0; f < files; f++) {
    const stations = Array.from({ length: 10 }, (_, k) => String(20_000 + f * 10 + k));
    const data = silverRows(stations).rows;
    const parquet = await writeParquetRows(columns, data);
    const res = await fetch(`${url}/files/inputs/in-${String(f).padStart(4, "0")}.parquet`, { method: "PUT", body: parquet });
    if (!res.ok) throw new Error(`PUT input ${f}: ${res.status}`);
    rows += data.length;
    bytes += parquet.length;
  }
  console.log(`BENCH ${JSON.stringify({ bench: "merge-inputs", files, rows, bytes })}`);
}, 1_800_000);
