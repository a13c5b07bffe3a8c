// The seeds' silver rows (8 stations, hourly, 2012-01-01 … 2024-12-31: 911,808 rows, what a run of
// the seeds' workload writes) and a clock for workerd benches.
import { env } from "cloudflare:workers";
import { DEFAULT_STATIONS, WEATHER_PARAMETERS, observation } from "../../src/sample/weather-data";

const HOUR = 3_600_000;

export function seedsSilverRows(): { rows: Record<string, unknown>[]; temperatureSum: number } {
  const rows: Record<string, unknown>[] = [];
  let temperatureSum = 0;
  for (const station of [...DEFAULT_STATIONS].sort()) {
    for (let t = Date.UTC(2012, 0, 1); t < Date.UTC(2025, 0, 1); t += HOUR) {
      const row: Record<string, unknown> = { station_id: station, observed_at: new Date(t), quality_flags: null };
      for (const p of WEATHER_PARAMETERS) row[p] = observation(station, t, p);
      temperatureSum += (row.temperature as number | null) ?? 0;
      rows.push(row);
    }
  }
  return { rows, temperatureSum };
}

/** Date.now() in workerd moves only across I/O: one R2 round trip before each reading. */
export async function clock(): Promise<number> {
  await env.BUCKET.head("bench/clock");
  return Date.now();
}
