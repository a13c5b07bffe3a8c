// Weather silver rows for workerd benches (the seeds' 8 stations, hourly, 2012-01-01 … 2024-12-31:
// 911,808 rows, what a run of the seeds' workload writes), a clock, and the bench's settings.
import { env } from "cloudflare:workers";
import { DEFAULT_STATIONS, WEATHER_PARAMETERS, observation } from "../../src/sample/weather-data";

const HOUR = 3_600_000;

/** Hourly rows of the given stations over 2012–2024, station by station. */
export function silverRows(stations: readonly string[]): { rows: Record<string, unknown>[]; temperatureSum: number } {
  const rows: Record<string, unknown>[] = [];
  let temperatureSum = 0;
  for (const station of [...stations].sort()) {
    for (let t = Date.UTC(2012, 0, 1); t < Date.UTC(2025, 0, 1); t += HOUR) {
      const row: Record<string, unknown> = { station_id: station, observed_at: new Date(t), quality_flags: null };
      for (const p of WEATHER_PARAMETERS) row[p] = observation(station, t, p);
      temperatureSum += (row.temperature as number | null) ?? 0;
      rows.push(row);
    }
  }
  return { rows, temperatureSum };
}

export function seedsSilverRows(): { rows: Record<string, unknown>[]; temperatureSum: number } {
  return silverRows(DEFAULT_STATIONS);
}

/** Date.now() in workerd moves only across I/O: one R2 round trip before each reading. */
export async function clock(): Promise<number> {
  await env.BUCKET.head("bench/clock");
  return Date.now();
}

/** A setting scripts/bench.ts passes through vitest.config.ts's bindings (BENCH_*). */
export function benchVar(name: string): string {
  const value = (env as unknown as Record<string, unknown>)[name];
  if (typeof value !== "string" || value === "") throw new Error(`${name} is not set: run this bench through npm run bench`);
  return value;
}

/** POST a mark to the bench's file server; Node acts on it (starts or stops watching) before answering. */
export async function mark(name: string): Promise<void> {
  const res = await fetch(`${benchVar("BENCH_FILES_URL")}/mark/${name}`, { method: "POST" });
  if (!res.ok) throw new Error(`mark ${name}: ${res.status} ${await res.text()}`);
}

/**
 * An R2 object to Node's bench file server as `name`, in 32 MiB slices (one streamed PUT of a
 * gigabyte loses its connection locally). Returns its size.
 */
export async function sendToNode(key: string, name: string): Promise<number> {
  const head = await env.BUCKET.head(key);
  if (!head) throw new Error(`${key} is missing`);
  const SLICE = 32 * 1024 * 1024;
  for (let offset = 0; offset < head.size; offset += SLICE) {
    const slice = await env.BUCKET.get(key, { range: { offset, length: Math.min(SLICE, head.size - offset) } });
    if (!slice) throw new Error(`${key} is missing`);
    const res = await fetch(`${benchVar("BENCH_FILES_URL")}/files/${name}?offset=${offset}`, { method: "PUT", body: await slice.arrayBuffer() });
    if (!res.ok) throw new Error(`PUT ${name} at ${offset}: ${res.status}`);
  }
  return head.size;
}
