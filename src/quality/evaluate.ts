// The quality phase: every check measured over the batches' profiles.
import { checkName, type BatchProfile, type QualityCheck, type Severity } from "./checks";

export interface CheckOutcome {
  name: string;
  kind: QualityCheck["kind"];
  severity: Severity;
  value: number | string;
  threshold: number | string;
  passed: boolean;
  /** Offending keys, batches or windows: at most OFFENDING_SAMPLE. */
  offending: string[];
  offendingCount: number;
}

export interface QualityReport {
  passed: boolean;
  /** The first fatal failure, as a sentence. */
  reason: string | null;
  checks: CheckOutcome[];
}

export interface ProfiledBatch {
  batchId: string;
  profile: BatchProfile;
  /** The batch's time window, when the pipeline has one (continuity). */
  window?: { start: number; end: number };
  /** Keys the batch asked for (continuity); default: the keys it holds. */
  keys?: string[];
}

export const OFFENDING_SAMPLE = 20;

const pct = (n: number, d: number) => (d === 0 ? 0 : Math.round((n / d) * 10_000) / 100);
const iso = (ms: number) => new Date(ms).toISOString().replace(":00:00.000Z", "Z");

function measure(c: QualityCheck, batches: readonly ProfiledBatch[], expectedSchema: string): Omit<CheckOutcome, "name" | "kind" | "severity"> {
  const rows = batches.reduce((n, b) => n + b.profile.rows, 0);
  switch (c.kind) {
    case "minRows": {
      if (c.per === "run") return { value: rows, threshold: c.min, passed: rows >= c.min, offending: [], offendingCount: 0 };
      const low = batches.filter((b) => b.profile.rows < c.min).map((b) => `${b.batchId} (${b.profile.rows} rows)`);
      return {
        value: Math.min(...batches.map((b) => b.profile.rows), Infinity),
        threshold: c.min,
        passed: low.length === 0,
        offending: low,
        offendingCount: low.length,
      };
    }
    case "maxNullPercent": {
      const nulls = batches.reduce((n, b) => n + (b.profile.nulls[c.column] ?? 0), 0);
      const worst = batches
        .filter((b) => pct(b.profile.nulls[c.column] ?? 0, b.profile.rows) > c.max)
        .map((b) => `${b.batchId} (${pct(b.profile.nulls[c.column] ?? 0, b.profile.rows)}%)`);
      const value = pct(nulls, rows);
      return { value, threshold: c.max, passed: value <= c.max, offending: worst, offendingCount: worst.length };
    }
    case "minDistinct": {
      const all = new Set(batches.flatMap((b) => b.profile.distinct[c.column] ?? []));
      return { value: all.size, threshold: c.min, passed: all.size >= c.min, offending: [], offendingCount: 0 };
    }
    case "continuity": {
      // A live key is one with data somewhere in the run; a key with none is a lost batch,
      // which the run's status already accounts for.
      const live = new Set(batches.flatMap((b) => Object.keys(b.profile.series)));
      const gaps: string[] = [];
      let missing = 0;
      for (const b of batches) {
        if (!b.window) continue;
        const expected = Math.ceil((b.window.end - b.window.start) / c.stepMs);
        const keys = (b.keys ?? Object.keys(b.profile.series)).filter((k) => live.has(k));
        for (const key of keys) {
          const have = b.profile.series[key]?.rows ?? 0;
          if (have < expected) {
            missing += expected - have;
            gaps.push(`${key} ${iso(b.window.start)}/${iso(b.window.end)}: ${expected - have} of ${expected} missing`);
          }
        }
      }
      return { value: missing, threshold: 0, passed: missing === 0, offending: gaps, offendingCount: gaps.length };
    }
    case "schema": {
      const off = batches.filter((b) => b.profile.schema !== expectedSchema).map((b) => `${b.batchId}: ${b.profile.schema}`);
      return {
        value: off.length === 0 ? "conforms" : "differs",
        threshold: expectedSchema,
        passed: off.length === 0,
        offending: off,
        offendingCount: off.length,
      };
    }
    case "valueRange": {
      const flagged = batches.reduce((n, b) => n + (b.profile.flagged[c.column] ?? 0), 0);
      const samples = batches.flatMap((b) => b.profile.flaggedSamples.filter((s) => s.includes(`${c.column}=`)));
      const value = pct(flagged, rows);
      return { value, threshold: c.maxFlaggedPercent, passed: value <= c.maxFlaggedPercent, offending: samples, offendingCount: flagged };
    }
  }
}

export function evaluateQuality(checks: readonly QualityCheck[], batches: readonly ProfiledBatch[], expectedSchema: string): QualityReport {
  const outcomes = checks.map((c): CheckOutcome => {
    const m = measure(c, batches, expectedSchema);
    return { name: checkName(c), kind: c.kind, severity: c.severity, ...m, offending: m.offending.slice(0, OFFENDING_SAMPLE) };
  });
  const fatal = outcomes.find((o) => !o.passed && o.severity === "fatal");
  return {
    passed: !fatal,
    reason: fatal ? `quality check ${fatal.name} failed: measured ${fatal.value}, threshold ${fatal.threshold}` : null,
    checks: outcomes,
  };
}
