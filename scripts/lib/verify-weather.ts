// Is a sample-weather output exact? The output, read by DuckDB, against the sample upstream's own
// data fetched over HTTP (every station-hour once, every value equal). The upstream is read with
// its faults and limits off: call this after the run, with the sample config reset.
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "./client.ts";
import { literal, type Duck } from "./duckdb.ts";

export interface WeatherWindow {
  stations: string[];
  from: string;
  /** Exclusive. */
  to: string;
}

export interface Exactness {
  rows: number;
  expected: number;
  duplicateKeys: number;
  /** Station-hours the upstream has and the output lacks, and the other way round. */
  missing: number;
  extra: number;
  /** Station-hours present in both whose values differ. */
  differing: number;
  /** The bytes served hash to the sha256 the API names. */
  hashMatches: boolean;
  exact: boolean;
}

const PARAMETERS = ["temperature", "humidity", "wind_speed", "pressure", "precipitation"] as const;

interface Coverage {
  id: string;
  domain: { axes: { t: { values: string[] } } };
  ranges: Record<string, { values: (number | null)[] }>;
}

/** The upstream's rows for the window, one request per station and year at most. */
async function upstreamRows(baseUrl: string, w: WeatherWindow): Promise<string[]> {
  const lines: string[] = [];
  const end = Date.parse(`${w.to}T00:00:00Z`);
  for (let start = Date.parse(`${w.from}T00:00:00Z`); start < end;) {
    const next = Math.min(end, Date.UTC(new Date(start).getUTCFullYear() + 1, 0, 1));
    const datetime = `${new Date(start).toISOString()}/${new Date(next).toISOString()}`;
    const res = await fetch(`${baseUrl}/sample/edr/collections/hourly/locations/${w.stations.join(",")}?datetime=${encodeURIComponent(datetime)}`);
    if (!res.ok) throw new Error(`upstream answered ${res.status} for ${datetime}`);
    const body = (await res.json()) as { coverages: Coverage[] };
    for (const c of body.coverages) {
      c.domain.axes.t.values.forEach((t, i) => {
        const row: Record<string, unknown> = { station_id: c.id, observed_at: t };
        for (const p of PARAMETERS) row[p] = c.ranges[p]?.values[i] ?? null;
        lines.push(JSON.stringify(row));
      });
    }
    start = next;
  }
  return lines;
}

export async function verifyWeatherOutput(api: Client, baseUrl: string, runId: string, w: WeatherWindow, duck: Duck, dir: string): Promise<Exactness> {
  const res = await api.call(`/v1/jobs/${encodeURIComponent(runId)}/output`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const hashMatches = createHash("sha256").update(bytes).digest("hex") === res.headers.get("x-sluice-sha256");
  const output = join(dir, `${runId}.parquet`);
  const expected = join(dir, `${runId}-upstream.ndjson`);
  writeFileSync(output, bytes);
  writeFileSync(expected, (await upstreamRows(baseUrl, w)).join("\n") + "\n");
  const columns = `{station_id: 'VARCHAR', observed_at: 'VARCHAR', ${PARAMETERS.map((p) => `${p}: 'DOUBLE'`).join(", ")}}`;
  const got = `read_parquet(${literal(output)})`;
  const want = `(SELECT * REPLACE (observed_at::TIMESTAMPTZ AS observed_at) FROM read_json(${literal(expected)}, format = 'newline_delimited', columns = ${columns}))`;
  const differs = PARAMETERS.map((p) => `g.${p} IS DISTINCT FROM w.${p}`).join(" OR ");
  const [r] = await duck.all<Record<string, number>>(`
    SELECT
      (SELECT count(*) FROM ${got}) AS rows,
      (SELECT count(*) FROM ${want}) AS expected,
      (SELECT count(*) - count(DISTINCT (station_id, observed_at)) FROM ${got}) AS duplicate_keys,
      (SELECT count(*) FROM ${want} w ANTI JOIN ${got} g USING (station_id, observed_at)) AS missing,
      (SELECT count(*) FROM ${got} g ANTI JOIN ${want} w USING (station_id, observed_at)) AS extra,
      (SELECT count(*) FROM ${got} g JOIN ${want} w USING (station_id, observed_at) WHERE ${differs}) AS differing`);
  const n = (k: string) => Number(r?.[k] ?? NaN);
  const result = {
    rows: n("rows"),
    expected: n("expected"),
    duplicateKeys: n("duplicate_keys"),
    missing: n("missing"),
    extra: n("extra"),
    differing: n("differing"),
    hashMatches,
  };
  return { ...result, exact: result.rows === result.expected && result.duplicateKeys + result.missing + result.extra + result.differing === 0 && hashMatches };
}
