// From Node, as a user would: start the Worker locally, submit a run over HTTP, wait for it,
// download the output and check it with DuckDB against the upstream's own answers.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { client, type Client } from "../../scripts/lib/client.ts";
import { literal, openDuck, type Duck } from "../../scripts/lib/duckdb.ts";
import { startLocalServer, type LocalServer } from "../../scripts/lib/local-server.ts";
import { verifyPostsOutput } from "../../scripts/lib/verify-posts.ts";
import { verifyWeatherOutput } from "../../scripts/lib/verify-weather.ts";

interface Coverage {
  id: string;
  domain: { axes: { t: { values: string[] } } };
  ranges: Record<string, { values: (number | null)[] }>;
}

let server: LocalServer;
let api: Client;
let duck: Duck;
const dir = mkdtempSync(join(tmpdir(), "sluice-e2e-"));

beforeAll(async () => {
  server = await startLocalServer();
  api = client({ baseUrl: server.url, token: server.token });
  duck = await openDuck();
});

afterAll(async () => {
  duck?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("sluice over HTTP on wrangler dev", () => {
  it("refuses a submit without the token", async () => {
    const res = await fetch(`${server.url}/v1/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: "unauthorized" } });
  });

  it("runs a job whose output equals the upstream's data", async () => {
    await api.sampleConfig({ latencyMs: 5 });
    await api.resetSampleStats();
    const stations = ["10000", "10111", "10222"];
    const { id } = await api.submit("sample-weather", { stations, from: "2023-11-01", to: "2024-01-01", chunk: "month" });
    const run = await api.wait(id, undefined, 200);
    expect(run.status).toBe("succeeded");
    const file = join(dir, `${id}.parquet`);
    writeFileSync(file, await api.output(id));

    const hours = (30 + 31) * 24;
    const [count] = await duck.all<{ n: number; keys: number }>(
      `SELECT count(*)::INT AS n, count(DISTINCT (station_id, observed_at))::INT AS keys FROM read_parquet(${literal(file)})`,
    );
    expect(count).toEqual({ n: stations.length * hours, keys: stations.length * hours });

    // What the upstream itself answers for one of the chunks.
    const res = await fetch(`${server.url}/sample/edr/collections/hourly/locations/${stations.join(",")}?datetime=2023-12-01T00:00:00Z/2024-01-01T00:00:00Z`);
    const upstream = (await res.json()) as { coverages: Coverage[] };
    const picks = upstream.coverages.flatMap((c) => [0, 17, 400, 743].map((i) => ({ station: c.id, at: c.domain.axes.t.values[i]!, i, c })));
    for (const { station, at, i, c } of picks) {
      const [row] = await duck.all<Record<string, number | null>>(
        `SELECT temperature, humidity, wind_speed, pressure, precipitation FROM read_parquet(${literal(file)})
         WHERE station_id = ${literal(station)} AND observed_at = ${literal(at)}::TIMESTAMPTZ`,
      );
      expect(row).toEqual({
        temperature: c.ranges.temperature!.values[i],
        humidity: c.ranges.humidity!.values[i],
        wind_speed: c.ranges.wind_speed!.values[i],
        pressure: c.ranges.pressure!.values[i],
        precipitation: c.ranges.precipitation!.values[i],
      });
    }
    const [types] = await duck.all<{ t: string }>(`SELECT typeof(observed_at) AS t FROM read_parquet(${literal(file)}) LIMIT 1`);
    expect(types?.t).toBe("TIMESTAMP WITH TIME ZONE");
  });

  it("drives a run from the CLI: submit --watch exits with the run's status, download writes the Parquet", () => {
    const env = { ...process.env, SLUICE_URL: server.url, SLUICE_TOKEN: server.token };
    const cli = (...args: string[]) => spawnSync(process.execPath, [join(import.meta.dirname, "../../scripts/cli.ts"), ...args], { env, encoding: "utf8" });
    const submitted = cli(
      "submit",
      "sample-weather",
      "--params",
      JSON.stringify({ stations: ["10370"], from: "2022-06-01", to: "2022-06-03", chunk: "day" }),
      "--watch",
    );
    expect(submitted.status).toBe(0);
    const id = submitted.stdout.split("\n")[0]!;
    expect(submitted.stdout).toContain(`${id} succeeded`);
    const out = join(dir, "cli.parquet");
    expect(cli("download", id, "--out", out).status).toBe(0);
    const listed = cli("list", "--limit", "5");
    expect(listed.stdout).toContain(id);
    const bad = cli("submit", "sample-weather", "--params", JSON.stringify({ from: "2022-06-03", to: "2022-06-01" }));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("invalid_params");
  });

  it("runs seed 004's daily flow from the CLI: posts, then weather and more posts in parallel, each output exact in DuckDB", async () => {
    await api.sampleConfig({ latencyMs: 5 });
    const env = { ...process.env, SLUICE_URL: server.url, SLUICE_TOKEN: server.token };
    const cli = (...args: string[]) => spawnSync(process.execPath, [join(import.meta.dirname, "../../scripts/cli.ts"), ...args], { env, encoding: "utf8" });
    const ran = cli("flow", "run", "sample-daily", "--from", "2026-03-10", "--to", "2026-03-11", "--watch");
    expect(ran.stderr).toBe("");
    expect(ran.status).toBe(0);
    const id = ran.stdout.split("\n")[0]!;
    expect(id).toBe("sample-daily-2026-03-10");
    const run = await api.json<{ status: string; steps: { name: string; status: string; runId: string; startedAt: number; finishedAt: number }[] }>(
      `/v1/flows/sample-daily/runs/${id}`,
    );
    expect(run.status).toBe("succeeded");
    const [posts, weather, more] = run.steps;
    expect(run.steps.map((s) => `${s.name} ${s.status}`)).toEqual(["posts succeeded", "weather succeeded", "more-posts succeeded"]);
    for (const s of [weather!, more!]) expect(s.startedAt).toBeGreaterThanOrEqual(posts!.finishedAt);
    // In parallel: each started before the other ended.
    expect(weather!.startedAt).toBeLessThanOrEqual(more!.finishedAt);
    expect(more!.startedAt).toBeLessThanOrEqual(weather!.finishedAt);
    expect(cli("flow", "show", "sample-daily", id).stdout).toMatch(new RegExp(`more-posts +succeeded +attempt 1/1 +${id}-more-posts \\(after posts\\)`));

    await api.sampleConfig({});
    // Each step's run says what it was asked for: the accounts, the stations and the day.
    const paramsOf = async (runId: string) => (await api.run(runId)).params as { accounts?: string[]; stations?: string[]; from?: string; to?: string };
    for (const s of [posts!, more!]) {
      const accounts = (await paramsOf(s.runId)).accounts!;
      expect(accounts.length).toBeGreaterThan(0);
      expect(await verifyPostsOutput(api, server.url, s.runId, accounts, duck, dir)).toMatchObject({ exact: true, missing: 0, extra: 0, differing: 0 });
    }
    const { stations, from, to } = await paramsOf(weather!.runId);
    expect({ from, to }).toEqual({ from: "2026-03-10", to: "2026-03-11" });
    const exact = await verifyWeatherOutput(api, server.url, weather!.runId, { stations: stations!, from: from!, to: to! }, duck, dir);
    expect(exact).toMatchObject({ exact: true, rows: stations!.length * 24, missing: 0, extra: 0, differing: 0 });
  });

  it("runs seed 002's chain: two crawlers in parallel, then processing and ETL reading them; every output checked in DuckDB", async () => {
    await api.sampleConfig({ latencyMs: 5 });
    await fetch(`${server.url}/sample/hooks/sample-chain`, { method: "DELETE" });
    const window = { from: "2026-04-02", to: "2026-04-03" };
    const { id } = await api.json<{ id: string }>("/v1/flows/sample-chain/runs", { method: "POST", json: window });
    type ChainRun = { status: string; steps: { name: string; status: string; runId: string; startedAt: number; finishedAt: number }[] };
    const run = await vi.waitUntil(
      async () => {
        const r = await api.json<ChainRun>(`/v1/flows/sample-chain/runs/${id}`);
        return ["succeeded", "failed", "timed_out", "cancelled"].includes(r.status) ? r : null;
      },
      { timeout: 120_000, interval: 200 },
    );
    expect(run.steps.map((s) => `${s.name} ${s.status}`)).toEqual([
      "crawl-api succeeded",
      "crawl-web succeeded",
      "process succeeded",
      "stations succeeded",
      "etl succeeded",
    ]);
    const [crawlApi, crawlWeb, processStep, stationsStep, etl] = run.steps;
    expect(crawlApi!.startedAt).toBeLessThanOrEqual(crawlWeb!.finishedAt); // the crawlers together
    expect(processStep!.startedAt).toBeGreaterThanOrEqual(Math.max(crawlApi!.finishedAt, crawlWeb!.finishedAt));
    expect(etl!.startedAt).toBeGreaterThanOrEqual(Math.max(processStep!.finishedAt, stationsStep!.finishedAt));
    await api.sampleConfig({});

    // The crawlers' outputs against the upstream's own answers.
    const paramsOf = async (runId: string) => (await api.run(runId)).params as { accounts?: string[]; stations?: string[] };
    expect(await verifyPostsOutput(api, server.url, crawlApi!.runId, (await paramsOf(crawlApi!.runId)).accounts!, duck, dir)).toMatchObject({ exact: true });
    const stations = (await paramsOf(crawlWeb!.runId)).stations!;
    expect(await verifyWeatherOutput(api, server.url, crawlWeb!.runId, { stations, ...window }, duck, dir)).toMatchObject({
      exact: true,
      rows: stations.length * 24,
    });

    // Processing read the crawl's output: every hour once, °F computed from °C.
    const file = async (runId: string, dataset?: string) => {
      const path = join(dir, `${runId}${dataset ? `-${dataset}` : ""}.parquet`);
      writeFileSync(path, await api.output(runId, dataset));
      return literal(path);
    };
    const [web, processed] = [await file(crawlWeb!.runId), await file(processStep!.runId)];
    const [joined] = await duck.all<{ n: number; matched: number; f_ok: number }>(
      `SELECT count(*)::INT AS n, count(w.station_id)::INT AS matched,
              count(*) FILTER (WHERE p.temperature IS NOT DISTINCT FROM w.temperature
                AND (p.temperature IS NULL OR abs(p.temperature_f - round(w.temperature * 9 / 5 + 32, 1)) < 1e-9))::INT AS f_ok
       FROM read_parquet(${processed}) p LEFT JOIN read_parquet(${web}) w USING (station_id, observed_at)`,
    );
    expect(joined).toEqual({ n: stations.length * 24, matched: stations.length * 24, f_ok: stations.length * 24 });
    const manifest = (await api.json<{ inputs: { runId: string }[] }>(`/v1/jobs/${processStep!.runId}/manifest`)).inputs;
    expect(manifest.map((i) => i.runId)).toEqual([crawlWeb!.runId]);

    // ETL's station-day dataset equals DuckDB's group-by over the processed hours.
    const daily = await file(etl!.runId, "station-day");
    const ours = await duck.all(
      `SELECT station_id, hours::INT AS hours, round(temperature_mean, 9) AS mean, temperature_min AS min, temperature_max AS max FROM read_parquet(${daily}) ORDER BY ALL`,
    );
    const theirs = await duck.all(
      `SELECT station_id, count(*)::INT AS hours, round(avg(temperature), 9) AS mean, min(temperature) AS min, max(temperature) AS max FROM read_parquet(${processed}) GROUP BY ALL ORDER BY ALL`,
    );
    expect(ours).toHaveLength(stations.length);
    expect(ours).toEqual(theirs);
    // Its lookup: each station's name and position, as the upstream's station list gives them.
    const listed = (await (await fetch(`${server.url}/sample/edr/collections/hourly/locations`)).json()) as {
      features: { id: string; geometry: { coordinates: [number, number] }; properties: { name: string } }[];
    };
    const named = await duck.all<{ station_id: string; name: string; lat: number; lon: number }>(
      `SELECT station_id, name, lat, lon FROM read_parquet(${daily}) ORDER BY ALL`,
    );
    expect(named).toEqual(
      [...stations].sort().map((id) => {
        const f = listed.features.find((x) => x.id === id)!;
        return { station_id: id, name: f.properties.name, lat: f.geometry.coordinates[1], lon: f.geometry.coordinates[0] };
      }),
    );

    // The notification (delivered from the flow's alarm).
    const events = await vi.waitUntil(
      async () => {
        const received = ((await (await fetch(`${server.url}/sample/hooks/sample-chain`)).json()) as { received: { event: string }[] }).received;
        return received.length > 0 ? received.map((r) => r.event) : null;
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(events).toEqual(["succeeded"]);
  });

  it("lays gold out Hive-style, so DuckDB reads the folder as a table", async () => {
    const { id } = await api.submit("sample-weather", { stations: ["10333"], from: "2024-04-01", to: "2024-07-01", chunk: "month" });
    const run = await api.wait(id, undefined, 200);
    expect(run.output?.key).toMatch(/^gold\/dataset=sample-weather\/year=2024\/quarter=2\/version=2024Q2_v\d+\/part-00000\.parquet$/);
    const path = join(dir, "lake", run.output!.key);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, await api.output(id));
    const rows = await duck.all<{ dataset: string; year: number; quarter: number; version: string; n: number }>(
      `SELECT dataset, year::INT AS year, quarter::INT AS quarter, version, count(*)::INT AS n
       FROM read_parquet(${literal(join(dir, "lake", "gold", "**", "*.parquet"))}, hive_partitioning = true) GROUP BY ALL`,
    );
    expect(rows).toEqual([{ dataset: "sample-weather", year: 2024, quarter: 2, version: run.version, n: 91 * 24 }]);
  });

  it("computes the station features dataset as DuckDB computes them over the same silver rows", async () => {
    const { id } = await api.submit("sample-weather", { stations: ["10000", "10037", "10074"], from: "2023-01-01", to: "2023-07-01", chunk: "month" });
    expect((await api.wait(id, undefined, 200)).status).toBe("succeeded");
    const silver = join(dir, `${id}.parquet`);
    const gold = join(dir, `${id}-station-quarterly.parquet`);
    writeFileSync(silver, await api.output(id));
    writeFileSync(gold, await api.output(id, "station-quarterly"));
    const query = (sql: string) => duck.all<Record<string, number | string>>(sql);
    const ours = await query(
      `SELECT station_id, quarter::VARCHAR AS quarter, observations::BIGINT AS n, temperature_values::BIGINT AS t_n, temperature_mean AS t_mean, temperature_min AS t_min,
              temperature_max AS t_max, temperature_sd AS t_sd, precipitation_total AS p_sum, pressure_mean AS p_mean
       FROM read_parquet(${literal(gold)}) ORDER BY ALL`,
    );
    const duckdb = await query(
      `SELECT station_id, date_trunc('quarter', observed_at)::VARCHAR AS quarter, count(*)::BIGINT AS n, count(temperature)::BIGINT AS t_n, avg(temperature) AS t_mean,
              min(temperature) AS t_min, max(temperature) AS t_max, stddev_samp(temperature) AS t_sd, sum(precipitation) AS p_sum, avg(pressure) AS p_mean
       FROM read_parquet(${literal(silver)}) GROUP BY ALL ORDER BY ALL`,
    );
    expect(ours).toHaveLength(6); // 3 stations × 2 quarters
    expect(ours.map((r) => `${r.station_id} ${r.quarter} ${r.n} ${r.t_n}`)).toEqual(duckdb.map((r) => `${r.station_id} ${r.quarter} ${r.n} ${r.t_n}`));
    ours.forEach((r, i) => {
      for (const k of ["t_mean", "t_min", "t_max", "t_sd", "p_sum", "p_mean"]) expect(Number(r[k])).toBeCloseTo(Number(duckdb[i]![k]), 9);
    });
    // Quantiles come from a sketch (2,184 hours a station-quarter): each one's rank among the
    // group's temperatures, as DuckDB counts it, is within the stated 2% of q.
    const ranks = await query(
      `SELECT g.station_id, g.quarter, count(s.temperature)::BIGINT AS n,
              count(*) FILTER (WHERE s.temperature < g.temperature_median)::BIGINT AS below_median,
              count(*) FILTER (WHERE s.temperature <= g.temperature_median)::BIGINT AS upto_median,
              count(*) FILTER (WHERE s.temperature < g.temperature_p95)::BIGINT AS below_p95,
              count(*) FILTER (WHERE s.temperature <= g.temperature_p95)::BIGINT AS upto_p95
       FROM read_parquet(${literal(gold)}) g JOIN read_parquet(${literal(silver)}) s
         ON s.station_id = g.station_id AND date_trunc('quarter', s.observed_at) = g.quarter
       GROUP BY ALL ORDER BY ALL`,
    );
    expect(ranks).toHaveLength(6);
    for (const r of ranks) {
      const n = Number(r.n);
      expect(n).toBeGreaterThan(200); // past the exact bound: the sketch's estimate
      for (const [q, below, upto] of [
        [0.5, r.below_median, r.upto_median],
        [0.95, r.below_p95, r.upto_p95],
      ] as const) {
        expect(Number(below) / n).toBeLessThanOrEqual(q + 0.02);
        expect(Number(upto) / n).toBeGreaterThanOrEqual(q - 0.02);
      }
    }
  });
});
