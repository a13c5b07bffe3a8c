// Calendar windows in UTC: the time chunks that batches cover.
export const CHUNKS = ["day", "month", "quarter", "year"] as const;
export type Chunk = (typeof CHUNKS)[number];

export const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

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
  for (let start = fromMs; start < toMs; ) {
    const end = Math.min(nextBoundary(start, chunk), toMs);
    yield { start, end };
    start = end;
  }
}
