// bench/results.json's shape, and BENCHMARKS.md made from it.
import { FINDINGS } from "./bench-findings.ts";
import type { MergeBench } from "./bench-merge.ts";
import { renderGoldSection, type GoldBench } from "./bench-gold.ts";
import { renderScdSection, type ScdBench } from "./bench-scd.ts";
import type { TaskBenchRow } from "./bench-tasks.ts";
import type { RunUsage } from "../../src/types.ts";
import { bytes, dollars, duration } from "./format.ts";

/** One cell of the rate-limit matrix (test/bench/limits-matrix.bench.ts). */
export interface LimitsCell {
  windows: string;
  label: string;
  algorithm: string;
  condition: "none" | "5xx" | "shared" | "shared-headers";
  requests: number;
  sent: number;
  violations: number;
  faults: number;
  repeats: number;
  other: { sent: number; refused: number };
  idealMs: number;
  /** The greedy span: each request as early as a sliding log of every window allows. */
  greedyMs?: number;
  /** With a second client: the span of a client that knows the upstream's state (test/limit-ceiling.ts). */
  ceilingMs?: number;
  spanMs: number;
  ingestMs: number;
  utilization: number;
}

export interface Results {
  limits?: { at: string; cells: LimitsCell[] };
  limit?: {
    at: string;
    rows: {
      rate: number;
      requests: number;
      upstreamRequests: number;
      violations: number;
      idealMs: number;
      actualMs: number;
      utilization: number;
      /** Share of the run the single local isolate was busy (CPU profile), when measured. */
      isolateBusy?: number;
      hotSpots?: string[];
      status: string;
    }[];
  };
  seeds?: {
    at: string;
    concurrency: number;
    latencyMs: number;
    status: string;
    rows: number;
    totalMs: number;
    idealIngestMs: number;
    ingestRatio: number;
    phases: { phase: string; ms: number; tasks: number; rowsPerSecond: number }[];
    file: string;
    /** CPU the one local isolate spent over the run, and where (CPU profile). */
    cpuMs?: number;
    hotSpots?: string[];
    /** What the run spent on the platform and its cost (the run view's `usage`). */
    usage?: RunUsage;
  };
  parquet?: {
    at: string;
    rows: number;
    sameRows: boolean;
    sluice: { runsMs: number[]; bestMs: number; rowsPerSecond: number; bytes: number; toColumnsMs?: number[]; encodeMs?: number[] };
    duckdb: { runsMs: number[]; bestMs: number; rowsPerSecond: number; bytes: number; threads: string };
    ratio: number;
    /** sluice's columns → file against DuckDB's COPY from its columnar table. */
    encodeRatio?: number;
    /** Writers tried beside sluice's, each against DuckDB with the same codec. */
    writers?: { name: string; codec: string; runsMs: number[]; bestMs: number; bytes: number; duckdbMs: number; duckdbBytes: number; ratio: number }[];
  };
  merge?: { at: string } & MergeBench;
  tasks?: { at: string; rows: TaskBenchRow[] };
  gold?: { at: string } & GoldBench;
  scd?: { at: string } & ScdBench;
  costs?: { at: string; posts: { ids: number; status: string; ms: number; tasks: number; rows: number; usage: RunUsage } };
  coordinator?: {
    at: string;
    rows: {
      tasks: number;
      batches: number;
      status: string;
      totalMs: number;
      planningMs: number;
      tasksPerSecond: number;
      storageBytes: number;
      reportCalls: number;
      callsPerTask: number;
    }[];
  };
}

const mark = (ok: boolean) => (ok ? "met" : "**missed**");

export function renderBenchmarks(r: Results): string {
  const out: string[] = [
    "# Benchmarks",
    "",
    "Made by `npm run bench` from `bench/results.json` (do not edit by hand). Every figure comes from the",
    "local runtime (wrangler dev: workerd with local R2, Queues and Durable Objects) on a 2-core machine that",
    "also runs the sample upstream in the same workerd process, so ratios count, absolute times are context.",
    "The local Queues run one consumer batch (up to 50 messages) at a time; Cloudflare runs up to",
    "`max_concurrency` (50) at once.",
    "",
  ];
  if (r.limits) {
    const target = (c: LimitsCell) => (c.condition === "none" ? 0.95 : c.condition === "5xx" ? 0.85 : 0.9);
    out.push(
      "## 0. Rate limits against every upstream algorithm",
      "",
      "`npm run bench -- --only limits` (one cell: `--cells 1s/sliding-log/none`) — in workerd (the vitest",
      "pool), one run per cell of sample-posts-like tasks (20 accounts a task, one request an account, 50 ms",
      "latency, 32 in flight at most). The pipeline declares the windows as a user would (no burst); the sample",
      "upstream enforces them with the cell's algorithm. Utilization = ideal / the span the upstream saw (first",
      "to last request, plus one latency). The ideal paces the run's requests at the rate of every window they",
      "exceed (requests / length, less what a second client sends: half the tightest sustained rate), the",
      "slowest of them, plus one latency: the fastest schedule no upstream counting in any of these ways",
      "refuses (a sliding counter refuses a burst after a full window, a sliding log refuses anything for a",
      "window's length after one). The greedy span beside it allows those bursts: only a client that knows",
      "its upstream keeps a plain sliding log could reach it. The second client does not retry what it is",
      "refused, so sluice may get more than the half it leaves (utilization over 1); it was on the key for the",
      "longest window (at most a minute) before sluice's first request. In `shared-headers` every answer states",
      "`X-RateLimit-Remaining` for the tightest window, which sluice learns the other client's share from",
      "before any 429. The ceiling is the span of a client that knows the upstream's algorithm and state at",
      "every instant: each request the first millisecond the upstream admits it without refusing the second",
      "client anything later (`test/limit-ceiling.ts`). Only a client that takes some of the second one's",
      "share can beat it; it is within the ideal in every shared cell, so the ideal asks nothing impossible",
      "of one that knew its upstream, though sluice learns only from answers. Violations are the 429s sluice got;",
      "repeats are pages the upstream answered 200 twice.",
      "Targets: 0 violations, 0 repeats, utilization ≥ 0.95 (none), ≥ 0.85 (10% 5xx), ≥ 0.9 of the share",
      "left (shared, shared-headers).",
      "",
      "| windows | algorithm | condition | requests sent | violations | repeats | span | ideal | greedy | ceiling | utilization | target |",
      "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
      ...r.limits.cells.map(
        (c) =>
          `| ${c.label} | ${c.algorithm} | ${c.condition} | ${c.sent} | ${c.violations} | ${c.repeats} | ${duration(c.spanMs)} | ${duration(c.idealMs)} | ${c.greedyMs === undefined ? "-" : duration(c.greedyMs)} | ${c.ceilingMs === undefined ? "-" : duration(c.ceilingMs)} | ${c.utilization.toFixed(3)} | ${mark(c.violations === 0 && c.repeats === 0 && c.utilization >= target(c))} |`,
      ),
      "",
      `Measured ${r.limits.at}.`,
      "",
    );
  }
  if (r.limit) {
    out.push(
      "## 1. The upstream at its limit",
      "",
      "`npm run bench -- --only limit` — sample-posts, 20 s worth of requests at each rate (one request per",
      "account, 100 accounts per task), upstream latency 50 ms, the upstream's limit and the pipeline's the same",
      "(set per deployment with `SLUICE_SOURCE_LIMITS`). Utilization = ideal / actual ingest time, ideal =",
      "requests / rate + one latency. Target ≥ 0.95 and 0 violations.",
      "",
      "| rate | requests | ingest | ideal | utilization | violations | target |",
      "|---:|---:|---:|---:|---:|---:|---|",
      ...r.limit.rows.map(
        (x) =>
          `| ${x.rate}/s | ${x.requests} | ${duration(x.actualMs)} | ${duration(x.idealMs)} | ${x.utilization.toFixed(3)} | ${x.violations} | ${mark(x.utilization >= 0.95 && x.violations === 0)} |`,
      ),
      "",
      `Measured ${r.limit.at}.`,
      "",
    );
  }
  if (r.seeds) {
    const s = r.seeds;
    out.push(
      "## 2. The seeds' workload end to end",
      "",
      `\`npm run bench -- --only seeds --concurrency ${s.concurrency}\` — 8 stations × 156 monthly chunks (2012–2024), one`,
      `request per month, ${s.latencyMs / 1000} s per upstream call, at most ${s.concurrency} calls at once (the per-second limit lifted,`,
      `so only the concurrency binds, as the ideal assumes). Ingest's ideal is`,
      `⌈156 / C⌉ × 10 s = ${duration(s.idealIngestMs)}; target ≤ 1.2×.`,
      "",
      "| phase | time | tasks | rows/s |",
      "|---|---:|---:|---:|",
      ...s.phases.map((p) => `| ${p.phase} | ${duration(p.ms)} | ${p.tasks} | ${p.rowsPerSecond} |`),
      `| **total** | **${duration(s.totalMs)}** | | ${s.rows} rows |`,
      "",
      `Ingest ${s.ingestRatio.toFixed(3)}× its ideal (${mark(s.ingestRatio <= 1.2)}). The old sequential design took 180 min; its parallel`,
      `redesign was estimated at 15–30 min; sluice took ${duration(s.totalMs)}, ${s.status}. Measured ${s.at}.`,
      ...(s.cpuMs === undefined
        ? []
        : [
            "",
            `The one local isolate (sluice's Worker, its Durable Objects and the sample upstream, which generates every`,
            `response) was busy ${duration(s.cpuMs)} of the ${duration(s.totalMs)}; most CPU in: ${(s.hotSpots ?? []).slice(0, 5).join("; ")}.`,
          ]),
      "",
    );
  }
  if (r.parquet) {
    const p = r.parquet;
    out.push(
      "## 3. Writing Parquet: sluice in workerd against DuckDB",
      "",
      "`npm run bench -- --only seeds,parquet` — the seeds' silver rows (8 stations × 13 years hourly), ZSTD.",
      "sluice: `writeParquetRows` (src/parquet/encode: each column read out of the row objects, dictionary- or",
      "plain-encoded, pages ZSTD-compressed by zstd in wasm; then the footer checked) in workerd, timed across R2",
      "round trips because workerd's clock moves only across I/O; and its two steps apart: the row objects read",
      "into columns, and the columns encoded into the file. DuckDB: `COPY … TO` from an in-memory table of the",
      "same rows (columnar already; the seeds run's output; row count and temperature sum checked equal:",
      `${p.sameRows}). Every sluice file is read back by hyparquet. Best of ${p.sluice.runsMs.length} for sluice, 3 for DuckDB. Target: sluice within 2× of DuckDB.`,
      "",
      "| writer | rows | best | runs (ms) | rows/s | bytes |",
      "|---|---:|---:|---|---:|---:|",
      `| sluice (workerd, 1 thread): rows → file | ${p.rows} | ${p.sluice.bestMs} ms | ${p.sluice.runsMs.join(", ")} | ${p.sluice.rowsPerSecond} | ${bytes(p.sluice.bytes)} |`,
      ...(p.sluice.toColumnsMs && p.sluice.encodeMs
        ? [
            `| … its step 1: row objects → columns | ${p.rows} | ${Math.min(...p.sluice.toColumnsMs)} ms | ${p.sluice.toColumnsMs.join(", ")} | | |`,
            `| … its step 2: columns → file | ${p.rows} | ${Math.min(...p.sluice.encodeMs)} ms | ${p.sluice.encodeMs.join(", ")} | ${Math.round(p.rows / (Math.min(...p.sluice.encodeMs) / 1000))} | ${bytes(p.sluice.bytes)} |`,
          ]
        : []),
      `| DuckDB (${p.duckdb.threads} threads) | ${p.rows} | ${p.duckdb.bestMs} ms | ${p.duckdb.runsMs.join(", ")} | ${p.duckdb.rowsPerSecond} | ${bytes(p.duckdb.bytes)} |`,
      "",
      `Ratio ${p.ratio.toFixed(2)}× from the rows (${mark(p.ratio <= 2)})${p.encodeRatio === undefined ? "" : `; from columns, as DuckDB starts, ${p.encodeRatio.toFixed(2)}× (${mark(p.encodeRatio <= 2)})`}. Measured ${p.at}.`,
      "",
    );
    if (p.writers) {
      out.push(
        "Writers tried (`test/bench/parquet-writers.bench.ts`, in workerd, from the rows to the file's bytes, best of 3;",
        "each output read back by hyparquet: rows and temperature sum), each against DuckDB writing the same rows with",
        "the same codec: sluice's encoder, parquet-wasm (sluice's writer until 2026-12-02: rows → Arrow → IPC → wasm),",
        "and hyparquet-writer (pure JavaScript), which has Snappy built in and needs a compressor it does not ship",
        "for ZSTD; its dictionary and delta encodings make small files even uncompressed.",
        "",
        "| writer | codec | best | runs (ms) | bytes | DuckDB, same codec | DuckDB bytes | ratio |",
        "|---|---|---:|---|---:|---:|---:|---:|",
        ...p.writers.map(
          (w) =>
            `| ${w.name.replace(/ \S+$/, "")} | ${w.codec} | ${w.bestMs} ms | ${w.runsMs.join(", ")} | ${bytes(w.bytes)} | ${w.duckdbMs} ms | ${bytes(w.duckdbBytes)} | ${w.ratio.toFixed(2)}× |`,
        ),
        "",
      );
    }
  }
  if (r.merge) {
    const m = r.merge;
    const duck = m.runs.find((x) => x.writer.startsWith("DuckDB"));
    const stitch = m.runs.find((x) => x.method === "stitch");
    const stitchHeld = !stitch
      ? null
      : (stitch.liveBytes ?? (stitch.memoryPeakBytes === null ? null : stitch.memoryPeakBytes - (stitch.memoryStartBytes ?? 0)));
    out.push(
      "## 4. Merging 91 million rows of Parquet into one file",
      "",
      `\`npm run bench -- --only merge --merge-files ${m.files}\` — ${m.files} files written by sluice's own writer in workerd (10`,
      `stations × 13 years hourly each, full 65,536-row groups, as the aggregate phase's upper levels see them), ${m.rows} rows,`,
      `${bytes(m.inputBytes)}, merged into one file in R2. sluice: the aggregate phase's merge (it stitches inputs of full row`,
      "groups: column chunks copied, one footer written), and the same merge forced to decode and re-encode every row group",
      "(the path it takes for small first-level inputs). DuckDB: `COPY (SELECT * FROM read_parquet([...])) TO ... (COMPRESSION zstd)`.",
      "CPU time and memory come from the V8 inspector watching the workerd isolate during the merge only (CPU profile",
      'samples that were not idle; JS heap + ArrayBuffers, wasm memory included, the largest sample); "live" from a second',
      "run with a full GC and a heap sample at each of the merge's R2 calls and body reads: what it held above its start.",
      "Every output is read back by DuckDB: row count, temperature sum and an order-free hash of every row equal to the inputs'.",
      "Targets: memory ≤ 64 MiB (live), CPU per merge task under 30 s.",
      "",
      "| writer | method | time | CPU | memory at start → peak | live | wasm memory | output | same rows | MB/s |",
      "|---|---|---:|---:|---:|---:|---:|---:|---|---:|",
      ...m.runs.map(
        (x) =>
          `| ${x.writer} | ${x.method} | ${duration(x.ms)} | ${x.cpuMs === null ? "—" : duration(x.cpuMs)} | ${x.memoryPeakBytes === null ? "—" : `${bytes(x.memoryStartBytes ?? 0)} → ${bytes(x.memoryPeakBytes)}`} | ${x.liveBytes == null ? "—" : bytes(x.liveBytes)} | ${x.wasmBytes === null ? "—" : bytes(x.wasmBytes)} | ${bytes(x.outputBytes)} | ${x.same} | ${(m.inputBytes / 1e6 / (x.ms / 1000)).toFixed(0)} |`,
      ),
      "",
      stitch && duck
        ? `Stitching against DuckDB: ${(stitch.ms / duck.ms).toFixed(2)}× its time. The merge's own memory (peak − start; the start is the test runner's isolate with sluice loaded) ${stitchHeld === null ? "not measured" : `${bytes(stitchHeld)}${stitch.liveBytes == null ? " with garbage" : " live"}: ${mark(stitchHeld <= 64 * 1024 * 1024)}`}; CPU ${duration(stitch.cpuMs ?? 0)}: ${mark((stitch.cpuMs ?? Infinity) < 30_000)}. Measured ${m.at}.`
        : `Measured ${m.at}.`,
      "",
    );
  }
  if (r.coordinator) {
    out.push(
      "## 5. The coordinator at scale",
      "",
      "`npm run bench -- --only coordinator --tasks 1000,10000,100000` — sample-posts with one account per batch, so",
      "each batch is three light tasks (ingest, refine, silver) and the coordinator's share of the time shows.",
      "Calls per task: consumer → coordinator report calls (target ≤ 0.05, one per queue batch). Past 10,000",
      "accounts the list goes into local R2 and is planned as a stream, as a production run of that size would.",
      "",
      "| tasks | batches | time | planning | tasks/s | coordinator SQLite | calls/task |",
      "|---:|---:|---:|---:|---:|---:|---:|",
      ...r.coordinator.rows.map(
        (x) =>
          `| ${x.tasks} | ${x.batches} | ${duration(x.totalMs)} | ${duration(x.planningMs)} | ${x.tasksPerSecond.toFixed(1)} | ${bytes(x.storageBytes)} | ${x.callsPerTask.toFixed(3)} |`,
      ),
      "",
      `Time per task: ${r.coordinator.rows.map((x) => `${(x.totalMs / x.tasks).toFixed(1)} ms at ${x.tasks}`).join(", ")} tasks; SQLite per task: ${r.coordinator.rows
        .map((x) => `${Math.round(x.storageBytes / x.tasks)} B`)
        .join(", ")}. Linear growth keeps both flat.`,
      "",
      `Measured ${r.coordinator.at}.`,
      "",
    );
  }
  if (r.tasks) {
    out.push(
      "## 6. Ingest, refine and silver: CPU time and memory per task",
      "",
      "`npm run bench -- --only tasks` — one task at a time in workerd, sample-weather's real handlers on the sample",
      "upstream's CoverageJSON, from the seeds' chunk (8 stations × a month) to a million rows (114 stations × a year;",
      "the handlers are called directly; ingest fetches the chunk from a stand-in upstream that streams it out of R2 with",
      "its length, checks and stores it: held whole up to 1 MiB, streamed through R2 past it). CPU: the V8 inspector's",
      "profile of the isolate during the task. Memory: JS heap + ArrayBuffers (wasm included) at the start after a full",
      "GC, and the largest sample every 20 ms; the difference is the task's own, garbage not yet collected included.",
      "Live: the same task run again with a full GC before each sample (every 50 ms, between the task's awaits), so only",
      "what it still held counts. A Worker has 128 MiB and 30 s of CPU by default; the target is 64 MiB live and 30 s of",
      "CPU for a task.",
      "",
      "| chunk | phase | rows | raw JSON | CPU | memory at start → peak | task's own | task's own, live |",
      "|---|---|---:|---:|---:|---:|---:|---:|",
      ...r.tasks.rows.map(
        (x) =>
          `| ${x.chunk} | ${x.phase} | ${x.rows} | ${bytes(x.rawBytes)} | ${duration(x.cpuMs)} | ${bytes(x.memoryStartBytes)} → ${bytes(x.memoryPeakBytes)} | ${bytes(x.memoryTaskBytes)} | ${x.liveTaskBytes === undefined ? "—" : bytes(x.liveTaskBytes)} |`,
      ),
      "",
      `Measured ${r.tasks.at}.`,
      "",
    );
  }
  if (r.costs || r.seeds?.usage) {
    const rows: [string, number, number, number, RunUsage][] = [];
    if (r.seeds?.usage)
      rows.push([
        "the seeds' workload: 8 stations × 156 months (sample-weather)",
        r.seeds.phases.reduce((n, p) => n + p.tasks, 0),
        r.seeds.rows,
        r.seeds.totalMs,
        r.seeds.usage,
      ]);
    if (r.costs)
      rows.push([
        `${r.costs.posts.ids.toLocaleString("en-US")} account ids (sample-posts, 100 a batch)`,
        r.costs.posts.tasks,
        r.costs.posts.rows,
        r.costs.posts.ms,
        r.costs.posts.usage,
      ]);
    const top = (u: RunUsage) =>
      [...u.cost.lines]
        .sort((a, b) => b.dollars - a.dollars)
        .slice(0, 3)
        .map((l) => `${l.item} ${dollars(l.dollars)}`)
        .join(", ");
    const prices = rows[0]![4].cost.prices.checked;
    out.push(
      "## 7. What a run costs",
      "",
      "`npm run bench -- --only seeds,costs` (`--cost-ids N`) — each run's own count of what it spent (`usage` in the",
      "run view and manifest: Worker invocations and time, Durable Object requests and busy time, SQLite rows,",
      "queue operations, R2 class A and B operations and bytes written), priced at Cloudflare's published Workers",
      `Paid prices (\`src/costs/prices.ts\`, checked ${prices}), before the plan's monthly included amounts and its`,
      "$5 base. Worker CPU is priced at the consumers' invocation time, an upper bound. Local time, not Cloudflare's.",
      "",
      "| run | tasks | rows | time here | cost | largest items | R2 output kept, per month |",
      "|---|---:|---:|---:|---:|---|---:|",
      ...rows.map(
        ([what, tasks, n, ms, u]) =>
          `| ${what} | ${tasks.toLocaleString("en-US")} | ${n.toLocaleString("en-US")} | ${duration(ms)} | ${dollars(u.cost.dollars)} | ${top(u)} | ${dollars(u.cost.storagePerMonth)} |`,
      ),
      "",
      "What the seeds' systems ran on instead: the first design, one 16 GB machine for about 180 minutes per",
      "run (seed 000); the quarterly pipeline, Airflow with a standing Spark cluster of a master and three",
      "workers, about 16 GB between them (seed 001), paid for whether a run is in progress or not.",
      "",
      `Measured ${[r.seeds?.usage ? r.seeds.at : null, r.costs?.at ?? null].filter(Boolean).join(" and ")}.`,
      "",
    );
  }
  if (r.gold) out.push(...renderGoldSection(r.gold));
  if (r.scd) out.push(...renderScdSection(r.scd));
  out.push(...FINDINGS);
  return out.join("\n");
}
