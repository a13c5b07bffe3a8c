// CoverageJSON (OGC EDR) → rows: one row per (coverage, time step) with one column per parameter.
import type { Row } from "../arrow/columns";
import { jsonItems } from "./json-items";

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
  const coverages = d.type === "Coverage" ? [doc] : asArray(d.coverages, "coverages");
  for (const coverage of coverages) yield* coverageRows(coverage, options);
}

/**
 * The same rows from a body as it streams (a pipeline's `parseStream`), a coverage's rows at a
 * time: one coverage is parsed at once, so a body of a hundred stations' years is never held,
 * as text or parsed, whole.
 */
export async function* coverageJsonStream(body: AsyncIterable<Uint8Array>, options: CoverageJsonOptions): AsyncGenerator<Iterable<Row>> {
  let root: unknown;
  let coverages = 0;
  for await (const coverage of jsonItems(body, "coverages", (r) => (root = r))) {
    coverages++;
    yield coverageRows(coverage, options);
  }
  if (coverages > 0) return;
  const d = root as { type?: unknown; coverages?: unknown };
  if (d.type === "Coverage") yield coverageRows(root, options); // a single Coverage, not a collection
  else asArray(d.coverages, "coverages");
}

/** One coverage's rows: one per time step. */
function* coverageRows(value: unknown, options: CoverageJsonOptions): Generator<Row> {
  if (typeof value !== "object" || value === null) throw new SyntaxError("CoverageJSON: a coverage is not an object");
  const coverage = value as Coverage;
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
