// Is a sample-weather output exact? The output, read by DuckDB, against the sample upstream's own
// data fetched over HTTP (every station-hour once, every value equal). The upstream is read with
// its faults and limits off: call this after the run, with the sample config reset.
import type { Client } from "./client.ts";
import type { Duck } from "./duckdb.ts";
import { compareOutput, type Exactness } from "./exactness.ts";

export type { Exactness } from "./exactness.ts";

export interface WeatherWindow {
  stations: string[];
  from: string;
  /** Exclusive. */
  to: string;
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
  const columns = { station_id: "VARCHAR", observed_at: "TIMESTAMPTZ", ...Object.fromEntries(PARAMETERS.map((p) => [p, "DOUBLE"])) };
  return compareOutput(api, runId, { lines: await upstreamRows(baseUrl, w), columns, key: ["station_id", "observed_at"] }, duck, dir);
}
