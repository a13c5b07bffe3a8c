// Calendar windows in UTC: the time chunks that batches cover.
export const CHUNKS = ["day", "month", "quarter", "year"] as const;
export type Chunk = (typeof CHUNKS)[number];

export const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Calendar units a time is cut to (gold buckets; schedule windows use day to year). */
export type Bucket = "hour" | "day" | "week" | "month" | "quarter" | "year";

/** The start of the `unit` containing `ms` (UTC; weeks start on Monday). */
export function unitStart(ms: number, unit: Bucket): number {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  switch (unit) {
    case "hour":
      return Math.floor(ms / 3_600_000) * 3_600_000;
    case "day":
      return Date.UTC(y, m, d.getUTCDate());
    case "week":
      return Date.UTC(y, m, d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
    case "month":
      return Date.UTC(y, m, 1);
    case "quarter":
      return Date.UTC(y, m - (m % 3), 1);
    case "year":
      return Date.UTC(y, 0, 1);
  }
}

/** The first instant after `ms` that starts a new chunk. */
export function nextBoundary(ms: number, chunk: Chunk): number {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  switch (chunk) {
    case "day":
      return Date.UTC(y, m, d.getUTCDate() + 1);
    case "month":
      return Date.UTC(y, m + 1, 1);
    case "quarter":
      return Date.UTC(y, m - (m % 3) + 3, 1);
    case "year":
      return Date.UTC(y + 1, 0, 1);
  }
}

/** [start, end) windows covering [from, to), cut at chunk boundaries. */
export function* windows(fromMs: number, toMs: number, chunk: Chunk): Generator<{ start: number; end: number }> {
  for (let start = fromMs; start < toMs;) {
    const end = Math.min(nextBoundary(start, chunk), toMs);
    yield { start, end };
    start = end;
  }
}

/** The time window a run covers: a version name stem and a Hive-style partition path. */
export interface RunWindow {
  /** `2024Q1`, `2024-01`, `2024-01-15`, `2024`, or `2012-01-01_2025-01-01`. */
  name: string;
  /** `year=2024/quarter=1`, `year=2024/month=01`, …, or `window=2012-01-01_2025-01-01`. */
  hive: string;
}

/** Name a [from, to) window of whole days, most specific calendar unit first. */
export function windowOf(from: string, to: string): RunWindow {
  const start = Date.parse(`${from}T00:00:00Z`);
  const end = Date.parse(`${to}T00:00:00Z`);
  const d = new Date(start);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const mm = String(m + 1).padStart(2, "0");
  const day = d.getUTCDate();
  if (end === nextBoundary(start, "day")) return { name: from, hive: `year=${y}/month=${mm}/day=${String(day).padStart(2, "0")}` };
  if (day === 1 && end === nextBoundary(start, "month")) return { name: `${y}-${mm}`, hive: `year=${y}/month=${mm}` };
  if (day === 1 && m % 3 === 0 && end === nextBoundary(start, "quarter")) return { name: `${y}Q${m / 3 + 1}`, hive: `year=${y}/quarter=${m / 3 + 1}` };
  if (day === 1 && m === 0 && end === nextBoundary(start, "year")) return { name: `${y}`, hive: `year=${y}` };
  return { name: `${from}_${to}`, hive: `window=${from}_${to}` };
}
