// Bench: where the Parquet write's time goes (rows → Arrow, Arrow → IPC, IPC → wasm, encode, check).
import { env } from "cloudflare:workers";
import { tableToIPC } from "apache-arrow";
import { it } from "vitest";
import { rowsToTable } from "../../src/arrow/columns";
import { validateParquet, schemaFingerprint } from "../../src/parquet/read";
import { arrowSchema } from "../../src/arrow/columns";
import { loadParquet, writerProperties } from "../../src/parquet/wasm";
import { getPipeline } from "../../src/pipelines";
import { WEATHER_PARAMETERS, DEFAULT_STATIONS, observation } from "../../src/sample/weather-data";

const HOUR = 3_600_000;
async function clock(): Promise<number> {
  await env.BUCKET.head("bench/clock");
  return Date.now();
}

it("times each step of a Parquet write", async () => {
  const columns = getPipeline("sample-weather").columns;
  const rows: Record<string, unknown>[] = [];
  for (const station of [...DEFAULT_STATIONS].sort())
    for (let t = Date.UTC(2012, 0, 1); t < Date.UTC(2025, 0, 1); t += HOUR) {
      const row: Record<string, unknown> = { station_id: station, observed_at: new Date(t), quality_flags: null };
      for (const p of WEATHER_PARAMETERS) row[p] = observation(station, t, p);
      rows.push(row);
    }
  const pq = await loadParquet();
  const steps: Record<string, number> = {};
  let t = await clock();
  const lap = async (name: string) => {
    const now = await clock();
    steps[name] = now - t;
    t = await clock();
  };
  const table = rowsToTable(columns, rows);
  await lap("rowsToArrow");
  const ipc = tableToIPC(table, "stream");
  await lap("arrowToIpc");
  const wasmTable = pq.Table.fromIPCStream(ipc);
  await lap("ipcToWasm");
  const bytes = pq.writeParquet(wasmTable, writerProperties(pq));
  await lap("encodeZstd");
  await validateParquet(bytes, { rows: rows.length, schema: schemaFingerprint(arrowSchema(columns)) });
  await lap("validate");
  console.log(`BENCH ${JSON.stringify({ bench: "parquet-steps", rows: rows.length, steps })}`);
}, 600_000);
