// Bench section 9: current and history tables over a million keys by parts, sluice in workerd
// (each run's change-table step watched: CPU, memory) beside DuckDB building the
// same tables from the same changes, and sluice's files checked against DuckDB's and read again
// by hyparquet.
import { openAsBlob } from "node:fs";
import { join } from "node:path";
import { parquetMetadataAsync } from "hyparquet";
import { serveBenchFiles } from "./bench-files.ts";
import { literal, openDuck } from "./duckdb.ts";
import { bytes, duration } from "./format.ts";
import { freePort } from "./local-server.ts";
import { isolateWatcher, runWorkerdBench } from "./workerd-bench.ts";

export interface ScdRunRow {
  run: number;
  changes: number;
  added: number;
  duplicates: number;
  history: number;
  current: number;
  ms: number;
  cpuMs: number | null;
  /** The most above its start (garbage V8 had not yet collected included). */
  peakBytes: number | null;
  /** The same with a full GC before each sample: what the step held at most. */
  liveBytes?: number | null;
}

export interface ScdBench {
  keys: number;
  partitions: number;
  runs: ScdRunRow[];
  /** DuckDB building run 2's history and current tables from all changes so far, into Parquet. */
  duckdbMs: number;
  duckdbThreads: string;
  /** Rows and an order-free hash of (key, seq, valid_to, is_current) equal to DuckDB's, for each table. */
  sameHistory: boolean;
  sameCurrent: boolean;
  hyparquetRows: { history: number; current: number };
}

/** Every distinct change (the first of a repeat kept), with the validity SCD type 2 gives it. */
const HISTORY = (changes: string) => `
  WITH distinct_changes AS (
    SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY customer_id, seq ORDER BY src, pos) AS n FROM ${changes}) WHERE n = 1
  )
  SELECT customer_id, seq, op, changed_at, city, score, changed_at AS valid_from,
    lead(changed_at) OVER (PARTITION BY customer_id ORDER BY seq) AS valid_to,
    (lead(seq) OVER (PARTITION BY customer_id ORDER BY seq) IS NULL AND op <> 'delete') AS is_current
  FROM distinct_changes`;

const FINGERPRINT = `count(*)::BIGINT AS n, bit_xor(hash(customer_id, seq, valid_to, is_current))::VARCHAR AS h`;

export async function scdBench(outDir: string, keys: number, partitions: number): Promise<ScdBench> {
  const dir = join(outDir, "scd");
  const port = await freePort();
  const watcher = isolateWatcher(port);
  const server = await serveBenchFiles(dir, (name) => watcher.onMark(name));
  const duck = await openDuck();
  try {
    console.log(`scd: ${keys} keys, ${partitions} parts, in workerd…`);
    const lines = await runWorkerdBench(
      "test/bench/scd-scale.bench.ts",
      { BENCH_FILES_URL: server.url, BENCH_SCD_KEYS: String(keys), BENCH_SCD_PARTS: String(partitions) },
      port,
    );
    const runs: ScdRunRow[] = lines.map((l) => {
      const applied = l.applied as { changes: number; added: number; duplicates: number; history: number; current: number };
      const watch = watcher.result(String(l.label));
      const live = watcher.result(`${String(l.label)}:live`);
      if (watch) console.log(`scd: run ${String(l.run)} CPU ${watch.cpuMs} ms, most in: ${watch.hotSpots.slice(0, 8).map((s) => `${s.name} ${s.selfMs} ms`).join("; ")}`);
      return {
        run: Number(l.run),
        ...applied,
        ms: Number(l.ms),
        cpuMs: watch?.cpuMs ?? null,
        peakBytes: watch && watch.backingPeakBytes !== null ? watch.memoryPeakBytes - watch.memoryStartBytes : null,
        liveBytes: live && live.backingPeakBytes !== null ? live.memoryPeakBytes - live.memoryStartBytes : null,
      };
    });

    console.log("scd: DuckDB builds the same tables…");
    await duck.all("SET TimeZone = 'UTC'");
    const file = (name: string) => literal(join(dir, name));
    const changes = `(SELECT *, 1 AS src, row_number() OVER () AS pos FROM read_parquet(${file("changes-1.parquet")})
      UNION ALL SELECT *, 2 AS src, row_number() OVER () AS pos FROM read_parquet(${file("changes-2.parquet")}))`;
    const t0 = performance.now();
    await duck.all(`CREATE TABLE history AS ${HISTORY(changes)}`);
    await duck.all(`COPY history TO ${file("duckdb-history.parquet")} (FORMAT parquet, COMPRESSION zstd)`);
    await duck.all(
      `COPY (SELECT * EXCLUDE (valid_to, is_current) FROM history WHERE is_current) TO ${file("duckdb-current.parquet")} (FORMAT parquet, COMPRESSION zstd)`,
    );
    const duckdbMs = Math.round(performance.now() - t0);
    const [threads] = await duck.all<{ t: string }>("SELECT current_setting('threads')::VARCHAR AS t");
    const same = async (ours: string, theirs: string) => {
      const [a] = await duck.all<{ n: string; h: string }>(`SELECT ${FINGERPRINT} FROM ${ours}`);
      const [b] = await duck.all<{ n: string; h: string }>(`SELECT ${FINGERPRINT} FROM ${theirs}`);
      return a !== undefined && b !== undefined && a.n === b.n && a.h === b.h;
    };
    const sameHistory = await same(`read_parquet(${file("history.parquet")})`, "history");
    // The current table has no valid_to or is_current: null and true, as the history's current rows.
    const ours = `(SELECT *, NULL::TIMESTAMP AS valid_to, true AS is_current FROM read_parquet(${file("current.parquet")}))`;
    const sameCurrent = await same(ours, "(SELECT * EXCLUDE (valid_to), NULL::TIMESTAMP AS valid_to FROM history WHERE is_current)");
    const rowsOf = async (name: string) => Number((await parquetMetadataAsync(await (await openAsBlob(join(dir, name))).arrayBuffer())).num_rows);
    return {
      keys,
      partitions,
      runs,
      duckdbMs,
      duckdbThreads: threads?.t ?? "?",
      sameHistory,
      sameCurrent,
      hyparquetRows: { history: await rowsOf("history.parquet"), current: await rowsOf("current.parquet") },
    };
  } finally {
    duck.close();
    await server.close();
  }
}

/** BENCHMARKS.md's section 9 from the stored figures. */
export function renderScdSection(s: { at: string } & ScdBench): string[] {
  const mib = (n: number | null) => (n === null ? "-" : bytes(n));
  // Judged on what a step holds (live) where measured, else on the peak with garbage.
  const held = (r: ScdRunRow) => r.liveBytes ?? r.peakBytes;
  const ok = (r: ScdRunRow) => r.cpuMs !== null && held(r) !== null && r.cpuMs < 30_000 && held(r)! < 64 * 1024 * 1024;
  return [
    "## 9. Current and history tables over a million keys",
    "",
    `\`npm run bench -- --only scd\` (\`--scd ${s.keys}/${s.partitions}\`: keys / partitions) — the change-table step of a run's final merge in`,
    `workerd, by ${s.partitions} parts: run 1 inserts ${s.keys.toLocaleString("en-US")} keys; run 2 changes a tenth of them (one in ten a delete, one in 17`,
    "late: a sequence below the key's insert; one in 13 sent twice). Each step watched as in section 8 (CPU; memory above",
    "its start with garbage, and live). Target: under 64 MiB of its own (live) and 30 s of CPU. DuckDB builds run 2's",
    "tables from all the changes (distinct by key and sequence, `lead()` over each key for `valid_to`) into Parquet.",
    "",
    "| run | changes | added | repeats | history | current | time | CPU | memory of its own | live | target |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ...s.runs.map(
      (r) =>
        `| ${r.run} | ${r.changes.toLocaleString("en-US")} | ${r.added.toLocaleString("en-US")} | ${r.duplicates.toLocaleString("en-US")} | ${r.history.toLocaleString("en-US")} | ${r.current.toLocaleString("en-US")} | ${duration(r.ms)} | ${r.cpuMs === null ? "-" : duration(r.cpuMs)} | ${mib(r.peakBytes)} | ${mib(r.liveBytes ?? null)} | ${ok(r) ? "met" : "**missed**"} |`,
    ),
    "",
    `DuckDB (${s.duckdbThreads} threads) builds run 2's tables in ${duration(s.duckdbMs)}. sluice's history ${s.sameHistory ? "equals" : "**differs from**"} DuckDB's and its current table`,
    `${s.sameCurrent ? "equals" : "**differs from**"} DuckDB's (rows, and a hash of key, sequence, \`valid_to\` and \`is_current\` over all rows); hyparquet reads`,
    `${s.hyparquetRows.history.toLocaleString("en-US")} and ${s.hyparquetRows.current.toLocaleString("en-US")} rows from them.`,
    "",
    `Measured ${s.at}.`,
    "",
  ];
}
