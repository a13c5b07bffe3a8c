// Flag out-of-range values and profile a batch's silver rows for the quality checks.
import type { Row } from "../arrow/columns";
import { FLAGS_COLUMN, MAX_DISTINCT, type BatchProfile, type QualityCheck } from "./checks";

const SAMPLES = 5;

const timeOf = (v: unknown): number => (v instanceof Date ? v.getTime() : Number(v));

export interface Flags {
  flagged: Record<string, number>;
  samples: string[];
}

/**
 * Set `quality_flags` on rows whose values fall outside a valueRange check; counts and samples
 * are added to `into` (a batch's rows may come a chunk at a time).
 */
export function flagOutliers(rows: Row[], checks: readonly QualityCheck[], key: readonly string[], into?: Flags): Flags {
  const ranges = checks.filter((c): c is Extract<QualityCheck, { kind: "valueRange" }> => c.kind === "valueRange");
  const { flagged, samples } = into ?? { flagged: {}, samples: [] };
  for (const r of ranges) flagged[r.column] ??= 0;
  for (const row of rows) {
    const flags: string[] = [];
    for (const r of ranges) {
      const v = row[r.column];
      if (typeof v !== "number") continue;
      if ((r.min !== undefined && v < r.min) || (r.max !== undefined && v > r.max)) {
        flags.push(`${r.column}_out_of_range`);
        flagged[r.column] = (flagged[r.column] ?? 0) + 1;
        if (samples.length < SAMPLES)
          samples.push(`${key.map((k) => `${k}=${row[k] instanceof Date ? (row[k] as Date).toISOString() : String(row[k])}`).join(" ")}: ${r.column}=${v}`);
      }
    }
    row[FLAGS_COLUMN] = flags.length > 0 ? flags.join(",") : null;
  }
  return { flagged, samples };
}

/** A batch's profile, its rows added a chunk at a time. */
export function batchProfiler(columns: readonly string[], schema: string, checks: readonly QualityCheck[]) {
  const nulls: Record<string, number> = Object.fromEntries(columns.map((c) => [c, 0]));
  const distinctColumns = new Set<string>();
  const continuity = checks.filter((c): c is Extract<QualityCheck, { kind: "continuity" }> => c.kind === "continuity");
  for (const c of checks) if (c.kind === "minDistinct") distinctColumns.add(c.column);
  for (const c of continuity) distinctColumns.add(c.key);
  const distinct = new Map([...distinctColumns].map((c) => [c, new Set<string>()]));
  const series: BatchProfile["series"] = {};
  const cont = continuity[0];
  let count = 0;
  return {
    add(rows: readonly Row[]): void {
      count += rows.length;
      for (const row of rows) {
        for (const c of columns) if (row[c] === null || row[c] === undefined) nulls[c]!++;
        for (const [c, set] of distinct) if (set.size < MAX_DISTINCT && row[c] != null) set.add(String(row[c]));
        if (cont) {
          const k = String(row[cont.key]);
          const t = timeOf(row[cont.time]);
          const s = (series[k] ??= { rows: 0, first: t, last: t });
          s.rows++;
          s.first = Math.min(s.first, t);
          s.last = Math.max(s.last, t);
        }
      }
    },
    finish(flags: Flags): BatchProfile {
      return {
        rows: count,
        schema,
        nulls,
        distinct: Object.fromEntries([...distinct].map(([c, set]) => [c, [...set].sort()])),
        flagged: flags.flagged,
        flaggedSamples: flags.samples,
        series,
      };
    },
  };
}

export function profileRows(rows: readonly Row[], columns: readonly string[], schema: string, checks: readonly QualityCheck[], flags: Flags): BatchProfile {
  const profiler = batchProfiler(columns, schema, checks);
  profiler.add(rows);
  return profiler.finish(flags);
}
