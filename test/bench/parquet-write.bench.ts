// Bench (npm run bench, not npm test): sluice's Parquet writer in workerd on the seeds' silver
// rows: 8 stations, hourly, 2012-01-01 … 2024-12-31 (911,808 rows, the same rows a run of the
// seeds' workload writes). Prints one "BENCH {json}" line for scripts/bench.ts.
import { env } from "cloudflare:workers";
import { it } from "vitest";
import { writeParquetRows } from "../../src/parquet/write";
import { getPipeline } from "../../src/pipelines";
import { WEATHER_PARAMETERS, DEFAULT_STATIONS, observation } from "../../src/sample/weather-data";

const HOUR = 3_600_000;

/** Date.now() in workerd moves only across I/O: one R2 round trip before each reading. */
async function clock(): Promise<number> {
  await env.BUCKET.head("bench/clock");
  return Date.now();
}

it("writes the seeds' silver rows as one ZSTD Parquet file", async () => {
  const columns = getPipeline("sample-weather").columns;
  const start = Date.UTC(2012, 0, 1);
  const end = Date.UTC(2025, 0, 1);
  const rows: Record<string, unknown>[] = [];
  let temperatureSum = 0;
  for (const station of [...DEFAULT_STATIONS].sort()) {
    for (let t = start; t < end; t += HOUR) {
      const row: Record<string, unknown> = { station_id: station, observed_at: new Date(t), quality_flags: null };
      for (const p of WEATHER_PARAMETERS) row[p] = observation(station, t, p);
      temperatureSum += (row.temperature as number | null) ?? 0;
      rows.push(row);
    }
  }
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
