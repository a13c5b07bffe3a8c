// Terminal output: progress bars, durations, sizes.
import type { RunView } from "../../src/types.ts";

export function bar(fraction: number, width = 24): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * width);
  return `${"█".repeat(full)}${"░".repeat(width - full)}`;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** One line per phase: bar, counts, and the phase's elapsed time. */
export function phaseLines(run: RunView, now = Date.now()): string[] {
  return (Object.keys(run.phases) as (keyof RunView["phases"])[]).map((name) => {
    const p = run.phases[name];
    if (name === "quality")
      return `  ${name.padEnd(9)} ${p.finishedAt ? (run.status === "failed" && run.reason?.startsWith("quality") ? "failed" : "checked") : p.startedAt ? "checking" : ""}`;
    const settled = p.succeeded + p.failed + p.dead + p.split;
    const total = name === "aggregate" ? Math.max(p.total, 1) : Math.max(p.total, run.batches);
    const elapsed = p.startedAt ? duration((p.finishedAt ?? now) - p.startedAt) : "";
    const extra = [p.failed ? `${p.failed} failed` : "", p.dead ? `${p.dead} dead` : "", p.split ? `${p.split} split` : ""].filter(Boolean).join(", ");
    return `  ${name.padEnd(9)} ${bar(p.total === 0 ? 0 : settled / total)} ${String(settled).padStart(5)}/${String(total).padEnd(5)} ${elapsed.padEnd(10)} ${extra}`;
  });
}

/** Dollars as people read them: cents and up, or two significant digits below a cent. */
export function dollars(n: number): string {
  if (n === 0) return "$0";
  return n >= 0.01 ? `$${n.toFixed(2)}` : `$${n.toPrecision(2)}`;
}

/** The run's cost in one line, its largest items first (the run view's `usage.cost`). */
export function costLine(run: RunView): string {
  const { cost } = run.usage;
  const items = [...cost.lines]
    .sort((a, b) => b.dollars - a.dollars)
    .slice(0, 3)
    .map((l) => `${l.item} ${Math.round(l.units).toLocaleString("en-US")} ${l.unit} ${dollars(l.dollars)}`);
  return `cost ${dollars(cost.dollars)} (${items.join(", ")}; storing its R2 output ${dollars(cost.storagePerMonth)}/month; prices of ${cost.prices.checked})`;
}
