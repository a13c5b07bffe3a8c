// npm run demo: the job the old orchestration was sized by — 8 stations, 156 monthly chunks
// (2012-01 … 2024-12) — run on the local Workers runtime against the sample upstream, with
// progress, the output written to out/<runId>.parquet and a summary read back with DuckDB; then
// seed 004's daily job as the sample-daily flow, step by step.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { client, type Client } from "./lib/client.ts";
import { literal, openDuck } from "./lib/duckdb.ts";
import { bytes, duration, phaseLines } from "./lib/format.ts";
import { startLocalServer } from "./lib/local-server.ts";
import { runMain } from "./lib/run.ts";

const root = resolve(import.meta.dirname, "..");

/** The parts of a flow run (GET /v1/flows/<flow>/runs/<id>) the summary prints. */
interface FlowRun {
  id: string;
  status: string;
  startedAt: number | null;
  finishedAt: number | null;
  steps: { name: string; status: string; after: string[]; runId: string | null; startedAt: number | null; finishedAt: number | null }[];
}
const params = { from: "2012-01-01", to: "2025-01-01", chunk: "month" };

/** Run a flow for a window and print each step: when it ran (from the flow's start), its status and rows. */
async function runFlow(api: Client, name: string, window: { from: string; to: string }): Promise<FlowRun> {
  const { id } = await api.json<{ id: string }>(`/v1/flows/${name}/runs`, { method: "POST", json: window });
  let flow: FlowRun;
  do {
    await new Promise((r) => setTimeout(r, 250));
    flow = await api.json<FlowRun>(`/v1/flows/${name}/runs/${id}`);
  } while (!["succeeded", "failed", "timed_out", "cancelled"].includes(flow.status));
  const t0 = flow.startedAt!;
  console.log(`\nflow ${flow.id} ${flow.status} in ${duration(flow.finishedAt! - t0)} (window ${window.from})`);
  for (const s of flow.steps) {
    const rows = s.runId ? (await api.run(s.runId)).output?.rows : undefined;
    const span = s.startedAt ? `+${duration(s.startedAt - t0)} → +${duration((s.finishedAt ?? Date.now()) - t0)}` : "";
    console.log(
      `  ${s.name.padEnd(13)} ${s.status.padEnd(10)} ${span.padEnd(22)} ${s.after.length ? `after ${s.after.join(", ")}` : "first"} · ${s.runId} · ${rows ?? 0} rows`,
    );
  }
  return flow;
}

/** Seed 004's CDC: the shop's tables after a month's load and one more day, checked in DuckDB. */
async function shop(api: Client, outDir: string): Promise<boolean> {
  const load = await runFlow(api, "sample-shop", { from: "2025-01-01", to: "2025-02-01" });
  const day = await runFlow(api, "sample-shop", { from: "2025-02-01", to: "2025-02-02" });
  if (load.status !== "succeeded" || day.status !== "succeeded") return false;
  const duck = await openDuck();
  const file = async (runId: string, dataset: string) => {
    const path = join(outDir, `${runId}-${dataset}.parquet`);
    writeFileSync(path, await api.output(runId, dataset));
    return literal(path);
  };
  console.log("  tables after the day (each built from the month's and that day's changes):");
  for (const step of day.steps) {
    const [history, current] = [await file(step.runId!, "history"), await file(step.runId!, "current")];
    // current must be exactly history's current rows, and each key's versions must tile time.
    const [t] = await duck.all<{ history: number; current: number; keys: number; mismatched: number; gaps: number }>(
      `WITH h AS (SELECT * FROM read_parquet(${history})), c AS (SELECT * FROM read_parquet(${current}))
       SELECT (SELECT count(*) FROM h)::INT AS history, (SELECT count(*) FROM c)::INT AS current, (SELECT count(DISTINCT ${step.name === "customers" ? "customer_id" : "order_id"}) FROM h)::INT AS keys,
              (SELECT count(*) FROM ((SELECT * EXCLUDE (valid_to, is_current) FROM h WHERE is_current) EXCEPT (SELECT * FROM c)))::INT AS mismatched,
              (SELECT count(*) FROM (SELECT valid_to, lead(valid_from) OVER (PARTITION BY ${step.name === "customers" ? "customer_id" : "order_id"} ORDER BY seq) AS next FROM h)
                WHERE valid_to IS DISTINCT FROM next)::INT AS gaps`,
    );
    console.log(
      `    ${step.name.padEnd(10)} history ${t?.history} rows over ${t?.keys} keys, current ${t?.current} rows; ${t?.mismatched} current rows not in history, ${t?.gaps} validity gaps`,
    );
  }
  const orders = day.steps.find((s) => s.name === "orders")!.runId!;
  // The daily gold (over the current table, a row per day and status): the month's last full day.
  const [d] = await duck.all<{ day: string; orders: number; statuses: string; revenue: number }>(
    `SELECT strftime(day, '%Y-%m-%d') AS day, sum(orders)::INT AS orders, string_agg(status || ' ' || orders, ', ' ORDER BY status) AS statuses,
            round(sum(revenue) FILTER (WHERE status <> 'cancelled'), 2) AS revenue
     FROM read_parquet(${await file(orders, "daily")}) WHERE day = TIMESTAMPTZ '2025-01-31 00:00:00+00' GROUP BY day`,
  );
  console.log(`    gold       ${d?.day}: ${d?.orders} orders placed (now ${d?.statuses}), revenue ${d?.revenue} without the cancelled`);
  duck.close();
  return true;
}

async function main(): Promise<number> {
  console.log("sluice demo: starting the local Workers runtime (wrangler dev)…");
  const server = await startLocalServer();
  try {
    const api = client({ baseUrl: server.url, token: server.token });
    await api.sampleConfig({ latencyMs: 50, perSecond: 50, perHour: 100_000 });
    await api.resetSampleStats();
    const started = Date.now();
    const { id } = await api.submit("sample-weather", params);
    console.log(`submitted run ${id}: sample-weather ${JSON.stringify(params)} (8 stations)\n`);
    const tty = process.stdout.isTTY;
    let printed = 0;
    let lastPrint = 0;
    const run = await api.wait(id, (r) => {
      const now = Date.now();
      const ended = !["queued", "running"].includes(r.status);
      if (!tty && now - lastPrint < 5000 && !ended) return;
      lastPrint = now;
      const lines = [
        `${r.status} · ${r.phase ?? ""} · ${r.progress.done}/${r.progress.total} tasks (${r.progress.percent}%) · ${duration(now - started)}`,
        ...phaseLines(r, now),
      ];
      // On a terminal, redraw in place; in a log, print a block every 5 s.
      if (tty && printed > 0) process.stdout.write(`\x1b[${printed}A\x1b[0J`);
      process.stdout.write(lines.join("\n") + "\n");
      printed = lines.length;
    });
    const elapsed = Date.now() - started;
    if (run.status !== "succeeded" || !run.output) {
      console.error(`run ended ${run.status}: ${run.reason ?? ""}`);
      return 1;
    }
    const outDir = join(root, "out");
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `${id}.parquet`);
    writeFileSync(file, await api.output(id));
    const stats = await api.sampleStats();

    const duck = await openDuck();
    const [summary] = await duck.all<{ rows: string; stations: string; first: string; last: string; nulls: string }>(
      `SELECT count(*) AS rows, count(DISTINCT station_id) AS stations, min(observed_at) AS first, max(observed_at) AS last,
              count(*) FILTER (WHERE temperature IS NULL) AS nulls FROM read_parquet(${literal(file)})`,
    );
    const [dupes] = await duck.all<{ n: string }>(
      `SELECT count(*) AS n FROM (SELECT station_id, observed_at FROM read_parquet(${literal(file)}) GROUP BY ALL HAVING count(*) > 1)`,
    );
    // The gold dataset computed in the run (seed 001's station features), checked against DuckDB's own over the output.
    const features = join(outDir, `${id}-station-quarterly.parquet`);
    writeFileSync(features, await api.output(id, "station-quarterly"));
    const [gold] = await duck.all<{ groups: string; joined: string; mismatches: string; example: string }>(
      `WITH ours AS (SELECT * FROM read_parquet(${literal(features)})),
            theirs AS (SELECT station_id, date_trunc('quarter', observed_at) AS quarter, count(*) AS n, avg(temperature) AS t, sum(precipitation) AS p
                       FROM read_parquet(${literal(file)}) GROUP BY ALL)
       SELECT (SELECT count(*) FROM ours) AS groups, (SELECT count(*) FROM ours JOIN theirs USING (station_id, quarter)) AS joined,
              (SELECT count(*) FROM ours JOIN theirs USING (station_id, quarter)
                WHERE observations <> n OR abs(temperature_mean - t) > 1e-9 OR abs(precipitation_total - p) > 1e-6) AS mismatches,
              (SELECT station_id || ' ' || strftime(quarter, '%Y-%m') || ': ' || observations || ' obs, mean ' || round(temperature_mean, 2) || ' °C'
                 FROM ours ORDER BY station_id, quarter LIMIT 1) AS example`,
    );
    // The quantiles come from a sketch: how far each one's rank among its group's temperatures (as DuckDB counts it) is from q.
    const [ranks] = await duck.all<{ worst_median: number; worst_p95: number }>(
      `WITH r AS (
         SELECT g.station_id, g.quarter, count(s.temperature) AS n,
                count(*) FILTER (WHERE s.temperature < g.temperature_median) AS below_m, count(*) FILTER (WHERE s.temperature <= g.temperature_median) AS upto_m,
                count(*) FILTER (WHERE s.temperature < g.temperature_p95) AS below_p, count(*) FILTER (WHERE s.temperature <= g.temperature_p95) AS upto_p
         FROM read_parquet(${literal(features)}) g JOIN read_parquet(${literal(file)}) s
           ON s.station_id = g.station_id AND date_trunc('quarter', s.observed_at) = g.quarter
         GROUP BY ALL)
       SELECT round(max(greatest(below_m / n - 0.5, 0.5 - upto_m / n, 0)), 4) AS worst_median,
              round(max(greatest(below_p / n - 0.95, 0.95 - upto_p / n, 0)), 4) AS worst_p95 FROM r`,
    );
    duck.close();

    console.log(`\nrun ${id} ${run.status} in ${duration(elapsed)}`);
    console.log(`  output        ${file} (${bytes(run.output.bytes)}, sha256 ${run.output.sha256.slice(0, 16)}…)`);
    console.log(`  rows          ${summary?.rows} (DuckDB) = ${run.output.rows} (manifest), duplicate keys: ${dupes?.n}`);
    console.log(`  stations      ${summary?.stations}`);
    console.log(`  time range    ${summary?.first} … ${summary?.last}`);
    console.log(`  null temps    ${summary?.nulls}`);
    console.log(
      `  gold dataset  station-quarterly: ${gold?.groups} station-quarters, ${gold?.joined} found in DuckDB's over the output, ${gold?.mismatches} differing (e.g. ${gold?.example})`,
    );
    console.log(`  quantiles     median and p95 per station-quarter: worst rank error ${ranks?.worst_median} and ${ranks?.worst_p95} (stated: 0.02)`);
    console.log(`  upstream      ${stats.requests} requests, ${stats.violations} rate-limit violations, peak ${stats.peakPerSecond}/s`);
    for (const [name, p] of Object.entries(run.phases)) {
      if (p.startedAt && name !== "quality") console.log(`  ${name.padEnd(13)} ${duration((p.finishedAt ?? Date.now()) - p.startedAt)} (${p.succeeded} tasks)`);
    }
    console.log(`  quality       all fatal checks passed (version ${run.version}; manifest runs/${id}/quality-v${run.version?.split("_v")[1]}.json)`);

    // Seed 004's daily job and seed 002's chain as flows, step by step.
    const daily = await runFlow(api, "sample-daily", { from: "2024-12-31", to: "2025-01-01" });
    const chain = await runFlow(api, "sample-chain", { from: "2024-12-30", to: "2024-12-31" });
    const tables = await shop(api, outDir);
    return daily.status === "succeeded" && chain.status === "succeeded" && tables ? 0 : 1;
  } finally {
    await server.stop();
  }
}

runMain(main);
