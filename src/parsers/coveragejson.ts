// CoverageJSON (OGC EDR) → rows: one row per (coverage, time step) with one column per parameter.
import type { Row } from "../arrow/columns";

interface Coverage {
  id?: unknown;
  domain?: { axes?: { t?: { values?: unknown } } };
  ranges?: Record<string, { values?: unknown }>;
}

function asArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new SyntaxError(`CoverageJSON: ${what} is not an array`);
  return value;
}

export interface CoverageJsonOptions {
  keyColumn: string;
  timeColumn: string;
  parameters: readonly string[];
  missingAsNull?: boolean;
}

/**
 * Flatten a CoverageCollection (or a single Coverage). `keyColumn` receives each coverage's
 * id, `timeColumn` its t axis as Dates; every range becomes a column of numbers or nulls.
 */
export function parseCoverageJson(body: string, options: CoverageJsonOptions): Row[] {
  return [...coverageJsonRows(body, options)];
}

/** The same rows, made as they are taken (a pipeline's `parse` may return it: refine never holds them all). */
export function* coverageJsonRows(body: string, options: CoverageJsonOptions): Generator<Row> {
  const doc: unknown = JSON.parse(body);
  if (typeof doc !== "object" || doc === null) throw new SyntaxError("CoverageJSON: not an object");
  const d = doc as { type?: unknown; coverages?: unknown };
  const coverages = (d.type === "Coverage" ? [doc] : asArray(d.coverages, "coverages")) as Coverage[];
  for (const coverage of coverages) {
    if (typeof coverage.id !== "string") throw new SyntaxError("CoverageJSON: coverage without a string id");
    const times = asArray(coverage.domain?.axes?.t?.values, "domain.axes.t.values");
    const columns = options.parameters.map((p) => {
      if (options.missingAsNull && coverage.ranges?.[p] === undefined) return times.map(() => null);
      const values = asArray(coverage.ranges?.[p]?.values, `ranges.${p}.values`);
      if (values.length !== times.length) throw new SyntaxError(`CoverageJSON: ranges.${p} has ${values.length} values for ${times.length} times`);
      return values;
    });
    for (let i = 0; i < times.length; i++) {
      const t = times[i];
      const at = typeof t === "string" ? Date.parse(t) : NaN;
      const row: Row = { [options.keyColumn]: coverage.id, [options.timeColumn]: Number.isFinite(at) ? new Date(at) : null };
      options.parameters.forEach((p, j) => {
        const v = columns[j]![i];
        row[p] = typeof v === "number" ? v : null;
      });
      yield row;
    }
  }
}
