// Bench section 8: a gold dataset per station and day over tens of millions of silver rows, sluice
// in workerd (each silver task's states, the merge tree a part at a time, watched per task) beside
// DuckDB aggregating the same rows, and sluice's file checked group by group against DuckDB's and
// read again by hyparquet.
import { openAsBlob, statSync } from "node:fs";
import { join } from "node:path";
import { decompress } from "fzstd";
import { parquetMetadataAsync, parquetRead } from "hyparquet";
import { serveBenchFiles } from "./bench-files.ts";
import { bytes, duration } from "./format.ts";
import { literal, openDuck } from "./duckdb.ts";
import { freePort } from "./local-server.ts";
import { isolateWatcher, runWorkerdBench } from "./workerd-bench.ts";
import { DUCKDB_DAILY, duckdbRows, type GoldScale } from "../../test/bench/gold-scale-data.ts";

export interface GoldTaskRow {
  /** silver, L1, L2, …, final. */
  label: string;
  tasks: number;
  fanIn: number | null;
  /** The slowest task of the level, and all of them (one at a time, one isolate). */
  maxMs: number;
  totalMs: number;
  /** The level's first task, watched: CPU, and memory at its start (after a full GC) and its peak. */
  cpuMs: number | null;
  memoryStartBytes: number | null;
  memoryPeakBytes: number | null;
  /** The same task again with a full GC before each sample: what it held at most. */
  liveBytes?: number | null;
}

export interface GoldBench {
  stations: number;
  years: number;
  rows: number;
  groups: number;
  partitions: number;
  outputBytes: number;
  tasks: GoldTaskRow[];
  /** Every task one after another, as one isolate runs them (a deployment runs a level's tasks at once). */
  sluiceMs: number;
  duckdbMs: number;
  duckdbThreads: string;
  /** Groups in only one of the two files; groups whose count, non-null count, min or max differ; the largest relative difference of mean, stddev and sum. */
  unmatched: number;
  exactDiffs: number;
  maxRelativeDiff: number;
  /** Rows and the sum of counts as hyparquet reads sluice's file. */
  hyparquetRows: number;
  hyparquetCount: number;
}

export async function goldBench(outDir: string, scale: GoldScale, partitions: number): Promise<GoldBench> {
  const dir = join(outDir, "gold");
  const port = await freePort();
  const watcher = isolateWatcher(port);
  const server = await serveBenchFiles(dir, (name) => watcher.onMark(name));
  const duck = await openDuck();
  try {
    console.log(`gold: ${scale.stations} stations × ${scale.years} years in workerd…`);
    const lines = await runWorkerdBench(
      "test/bench/gold-scale.bench.ts",
      {
        BENCH_FILES_URL: server.url,
        BENCH_GOLD_STATIONS: String(scale.stations),
        BENCH_GOLD_YEARS: String(scale.years),
        BENCH_GOLD_PARTITIONS: String(partitions),
      },
      port,
    );
    const tasks: GoldTaskRow[] = lines
      .filter((l) => l.label !== "output")
      .map((l) => {
        const watch = watcher.result(String(l.label));
        const live = watcher.result(`${String(l.label)}:live`);
        return {
          label: String(l.label),
          tasks: Number(l.tasks),
          fanIn: l.fanIn === undefined ? null : Number(l.fanIn),
          maxMs: Number(l.maxMs),
          totalMs: Number(l.totalMs),
          cpuMs: watch?.cpuMs ?? null,
          memoryStartBytes: watch && watch.backingPeakBytes !== null ? watch.memoryStartBytes : null,
          memoryPeakBytes: watch && watch.backingPeakBytes !== null ? watch.memoryPeakBytes : null,
          liveBytes: live && live.backingPeakBytes !== null ? live.memoryPeakBytes - live.memoryStartBytes : null,
        };
      });
    const rows = Number(lines.find((l) => l.label === "silver")?.rows);
    const ours = join(dir, "daily.parquet");

    console.log("gold: DuckDB writes the same rows, then aggregates them…");
    const silverDir = join(dir, "duckdb-silver");
    await duck.all("SET TimeZone = 'UTC'");
    await duck.all(`COPY (${duckdbRows(scale)}) TO ${literal(silverDir)} (FORMAT parquet, COMPRESSION zstd, PER_THREAD_OUTPUT true, OVERWRITE_OR_IGNORE true)`);
    const theirs = join(dir, "duckdb-daily.parquet");
    const t0 = performance.now();
    await duck.all(
      `COPY (SELECT ${DUCKDB_DAILY} FROM read_parquet(${literal(join(silverDir, "*.parquet"))}) GROUP BY ALL) TO ${literal(theirs)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    const duckdbMs = Math.round(performance.now() - t0);
    const [threads] = await duck.all<{ t: string }>("SELECT current_setting('threads')::VARCHAR AS t");
    const [check] = await duck.all<{ groups: number; unmatched: number; exact: number; rel: number | null; silver: number }>(`
      SELECT count(*)::BIGINT AS groups,
        count(*) FILTER (WHERE o.station_id IS NULL OR d.station_id IS NULL)::BIGINT AS unmatched,
        count(*) FILTER (WHERE o.n <> d.n OR o.t_n <> d.t_n OR o.t_min IS DISTINCT FROM d.t_min OR o.t_max IS DISTINCT FROM d.t_max)::BIGINT AS exact,
        greatest(max(abs(o.t_mean - d.t_mean) / greatest(1, abs(d.t_mean))), max(abs(o.t_sd - d.t_sd) / greatest(1, abs(d.t_sd))),
          max(abs(o.p_sum - d.p_sum) / greatest(1, abs(d.p_sum)))) AS rel,
        sum(d.n)::BIGINT AS silver
      FROM read_parquet(${literal(ours)}) o FULL JOIN read_parquet(${literal(theirs)}) d ON o.station_id = d.station_id AND o.day::TIMESTAMP = d.day`);
    if (!check) throw new Error("DuckDB compared nothing");
    if (Number(check.silver) !== rows) throw new Error(`DuckDB aggregated ${check.silver} rows, sluice ${rows}`);

    // hyparquet, sharing no code with either: the rows and their counts.
    const file = await (await openAsBlob(ours)).arrayBuffer();
    const meta = await parquetMetadataAsync(file);
    let hyparquetCount = 0;
    await parquetRead({
      file,
      metadata: meta,
      columns: ["n"],
      compressors: { ZSTD: (input: Uint8Array) => decompress(input) },
      onComplete: (data: unknown[][]) => data.forEach((r) => (hyparquetCount += Number(r[0]))),
    });
    return {
      ...scale,
      rows,
      groups: Number(check.groups),
      partitions,
      outputBytes: statSync(ours).size,
      tasks,
      sluiceMs: tasks.reduce((n, t) => n + t.totalMs, 0),
      duckdbMs,
      duckdbThreads: threads?.t ?? "?",
      unmatched: Number(check.unmatched),
      exactDiffs: Number(check.exact),
      maxRelativeDiff: Number(check.rel ?? 0),
      hyparquetRows: Number(meta.num_rows),
      hyparquetCount,
    };
  } finally {
    duck.close();
    await server.close();
  }
}

/** BENCHMARKS.md's section 8 from the stored figures. */
export function renderGoldSection(g: { at: string } & GoldBench): string[] {
  const mib = (n: number | null) => (n === null ? "-" : bytes(n));
  const own = (t: GoldTaskRow) => (t.memoryPeakBytes === null ? null : t.memoryPeakBytes - (t.memoryStartBytes ?? 0));
  // Judged on what a task holds (live) where measured, else on the peak with garbage.
  const held = (t: GoldTaskRow) => t.liveBytes ?? own(t);
  const ok = (t: GoldTaskRow) => t.cpuMs !== null && held(t) !== null && t.cpuMs < 30_000 && held(t)! < 64 * 1024 * 1024;
  return [
    "## 8. A gold dataset over tens of millions of rows",
    "",
    `\`npm run bench -- --only gold\` (\`--gold ${g.stations}x${g.years}/${g.partitions}\`: stations × years / partitions) — hourly rows of ${g.stations} stations over`,
    `${g.years} years (${g.rows.toLocaleString("en-US")} rows, made by one formula in JavaScript and in DuckDB's SQL), aggregated per station and UTC day`,
    "(count, non-null count, mean, min, max, standard deviation, sum: 7 aggregates) as a run does it: each silver task",
    `keeps the states of its batch (8 stations × a year), then the merge tree (16 files a task) combines them ${g.partitions} parts`,
    "at a time, and the final merge writes the file. In workerd, every task one after another in one isolate; the first",
    "task of each level watched over the V8 inspector (CPU; memory = JS heap + ArrayBuffers, at its start after a full",
    "GC and at its peak, sampled every 20 ms; garbage V8 had not yet collected counts, so this is an upper bound on",
    "what the task holds), then run again with a full GC before each sample (live: what it held at most). Target: every",
    "task under 64 MiB of its own (live) and 30 s of CPU. DuckDB aggregates the same rows from Parquet into a Parquet file.",
    "",
    "| task | tasks | slowest | first: CPU | memory at start → peak | its own | live | target |",
    "|---|---:|---:|---:|---:|---:|---:|---|",
    ...g.tasks.map(
      (t) =>
        `| ${t.label === "silver" ? "silver (states of a batch)" : t.label === "final" ? `final merge (fan-in ${t.fanIn})` : `merge ${t.label} (fan-in ${t.fanIn})`} | ${t.tasks} | ${duration(t.maxMs)} | ${t.cpuMs === null ? "-" : duration(t.cpuMs)} | ${mib(t.memoryStartBytes)} → ${mib(t.memoryPeakBytes)} | ${mib(own(t))} | ${mib(t.liveBytes ?? null)} | ${ok(t) ? "met" : "**missed**"} |`,
    ),
    "",
    "| | time | output | groups |",
    "|---|---:|---:|---:|",
    `| sluice, every task one after another (1 thread) | ${duration(g.sluiceMs)} | ${bytes(g.outputBytes)} | ${g.groups.toLocaleString("en-US")} |`,
    `| DuckDB \`COPY (SELECT … GROUP BY …) TO\` (${g.duckdbThreads} threads) | ${duration(g.duckdbMs)} | | |`,
    "",
    `Checked against DuckDB's file group by group: ${g.unmatched} groups in only one of them, ${g.exactDiffs} with a different count, non-null`,
    `count, min or max; mean, standard deviation and sum within ${g.maxRelativeDiff.toExponential(1)} relative (float sums in another order).`,
    `hyparquet reads ${g.hyparquetRows.toLocaleString("en-US")} rows from sluice's file, their counts summing to ${g.hyparquetCount.toLocaleString("en-US")}. A deployment runs a`,
    "level's tasks at once (up to the queue's concurrency), so its time is the slowest task of each level, not the sum.",
    "",
    `Measured ${g.at}.`,
    "",
  ];
}
