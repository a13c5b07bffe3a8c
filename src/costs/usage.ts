// What a run spends on the platform, counted where it is spent (src/costs/meter.ts), summed per
// phase by the run's coordinator, and priced with src/costs/prices.ts.
import type { Cost, CostLine, RunUsage, Usage } from "../types";
import { PRICES } from "./prices";

export const USAGE_KEYS = [
  "workerRequests",
  "workerMs",
  "doRequests",
  "doMs",
  "sqliteRowsRead",
  "sqliteRowsWritten",
  "queueOperations",
  "r2ClassA",
  "r2ClassB",
  "r2BytesWritten",
] as const satisfies readonly (keyof Usage)[];

export const emptyUsage = (): Usage => Object.fromEntries(USAGE_KEYS.map((k) => [k, 0])) as unknown as Usage;

/** Add `b` into `a` (scaled by `share`: a shared invocation split among its messages). */
export function addUsage(a: Usage, b: Partial<Usage>, share = 1): Usage {
  for (const k of USAGE_KEYS) a[k] += (b[k] ?? 0) * share;
  return a;
}

/** A usage to a millionth: shares of an invocation add up to whole ones again. */
function rounded(u: Usage): Usage {
  const r = emptyUsage();
  for (const k of USAGE_KEYS) r[k] = Math.round(u[k] * 1e6) / 1e6;
  return r;
}

export const isEmptyUsage = (u: Partial<Usage>) => USAGE_KEYS.every((k) => !u[k]);

/** A usage from stored or sent JSON: unknown keys dropped, missing ones 0. */
export function usageFrom(value: unknown): Usage {
  const u = emptyUsage();
  if (typeof value !== "object" || value === null) return u;
  for (const k of USAGE_KEYS) {
    const n = (value as Record<string, unknown>)[k];
    if (typeof n === "number" && Number.isFinite(n) && n >= 0) u[k] = n;
  }
  return u;
}

const GB = 1e9;

/** The dollars a usage costs at the published prices, line by line. */
export function costOf(u: Usage): Cost {
  const lines: CostLine[] = [
    { item: "Worker requests", units: u.workerRequests, unit: "requests", dollars: u.workerRequests * PRICES.workerRequest },
    { item: "Worker CPU (at most)", units: u.workerMs, unit: "ms", dollars: u.workerMs * PRICES.workerCpuMs },
    { item: "Durable Object requests", units: u.doRequests, unit: "requests", dollars: u.doRequests * PRICES.doRequest },
    {
      item: "Durable Object duration",
      units: (u.doMs / 1000) * PRICES.doMemoryGb,
      unit: "GB-s",
      dollars: (u.doMs / 1000) * PRICES.doMemoryGb * PRICES.doGbSecond,
    },
    { item: "SQLite rows read", units: u.sqliteRowsRead, unit: "rows", dollars: u.sqliteRowsRead * PRICES.sqliteRowRead },
    { item: "SQLite rows written", units: u.sqliteRowsWritten, unit: "rows", dollars: u.sqliteRowsWritten * PRICES.sqliteRowWritten },
    { item: "Queue operations", units: u.queueOperations, unit: "operations", dollars: u.queueOperations * PRICES.queueOperation },
    { item: "R2 class A", units: u.r2ClassA, unit: "operations", dollars: u.r2ClassA * PRICES.r2ClassA },
    { item: "R2 class B", units: u.r2ClassB, unit: "operations", dollars: u.r2ClassB * PRICES.r2ClassB },
  ];
  return {
    dollars: lines.reduce((s, l) => s + l.dollars, 0),
    lines,
    storagePerMonth: (u.r2BytesWritten / GB) * PRICES.r2GbMonth,
    prices: { checked: PRICES.checked, currency: PRICES.currency },
  };
}

export function runUsage(phases: Partial<Record<string, Usage>>): RunUsage {
  const sum = emptyUsage();
  for (const u of Object.values(phases)) if (u) addUsage(sum, u);
  const total = rounded(sum);
  return { phases: Object.fromEntries(Object.entries(phases).flatMap(([p, u]) => (u ? [[p, rounded(u)]] : []))), total, cost: costOf(total) };
}

/** Dollars as people read them: cents and up to two decimals, smaller sums to two significant digits ($0.00042). */
export function formatDollars(n: number | undefined): string {
  if (n === undefined) return "";
  if (n === 0) return "$0";
  return n >= 0.01 ? `$${n.toFixed(2)}` : `$${n.toPrecision(2)}`;
}
