// Quality checks, declared next to a pipeline's schema. Each is `fatal` (a failure ends the
// run `failed`) or `warn` (reported in the quality manifest only).
export type Severity = "fatal" | "warn";

export type QualityCheck =
  | { kind: "minRows"; per: "run" | "batch"; min: number; severity: Severity }
  | { kind: "maxNullPercent"; column: string; max: number; severity: Severity }
  | { kind: "minDistinct"; column: string; min: number; severity: Severity }
  | { kind: "continuity"; key: string; time: string; stepMs: number; severity: Severity }
  | { kind: "schema"; severity: Severity }
  | { kind: "valueRange"; column: string; min?: number; max?: number; maxFlaggedPercent: number; severity: Severity };

/** Builders, so a pipeline reads as a list of intentions. */
export const check = {
  minRows: (min: number, per: "run" | "batch" = "run", severity: Severity = "fatal"): QualityCheck => ({ kind: "minRows", per, min, severity }),
  maxNullPercent: (column: string, max: number, severity: Severity = "fatal"): QualityCheck => ({ kind: "maxNullPercent", column, max, severity }),
  minDistinct: (column: string, min: number, severity: Severity = "fatal"): QualityCheck => ({ kind: "minDistinct", column, min, severity }),
  /** Every key seen in the run has a row for every `stepMs` of every batch's window. */
  continuity: (key: string, time: string, stepMs: number, severity: Severity = "fatal"): QualityCheck => ({ kind: "continuity", key, time, stepMs, severity }),
  schema: (severity: Severity = "fatal"): QualityCheck => ({ kind: "schema", severity }),
  /** Values outside [min, max] are flagged in silver's `quality_flags` column, never dropped. */
  valueRange: (column: string, range: { min?: number; max?: number }, maxFlaggedPercent = 100, severity: Severity = "warn"): QualityCheck => ({
    kind: "valueRange",
    column,
    ...range,
    maxFlaggedPercent,
    severity,
  }),
};

export function checkName(c: QualityCheck): string {
  switch (c.kind) {
    case "minRows":
      return `minRows(${c.per})`;
    case "maxNullPercent":
    case "minDistinct":
    case "valueRange":
      return `${c.kind}(${c.column})`;
    case "continuity":
      return `continuity(${c.key},${c.time})`;
    case "schema":
      return "schema";
  }
}

/** What a silver task measures of its batch, so the quality phase never rereads the data. */
export interface BatchProfile {
  rows: number;
  /** Fingerprint of the columns written. */
  schema: string;
  nulls: Record<string, number>;
  /** Distinct values of the columns a check counts (bounded). */
  distinct: Record<string, string[]>;
  /** Rows flagged per valueRange column. */
  flagged: Record<string, number>;
  flaggedSamples: string[];
  /** Continuity: rows per key value, with the first and last time (epoch ms). */
  series: Record<string, { rows: number; first: number; last: number }>;
  /** Rows dropped because an earlier row of the batch had the same key (the first is kept). */
  duplicates?: number;
}

export const FLAGS_COLUMN = "quality_flags";
export const MAX_DISTINCT = 10_000;
