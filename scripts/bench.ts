// The benchmark suite: sluice against the physical limit and a native reference, in one run.
//   npm run bench [-- --only limits,limit,seeds,parquet,merge,tasks,coordinator,costs,gold,scd] [--cells 1s/sliding-log/none] [--tasks 1000,10000] [--rates 20,50,200] [--merge-files 80] [--chunks 0,1,2,3,4,5,6] [--cost-ids 1000000] [--gold 200x29/128] [--scd 1000000/64]
// (`--only report` rewrites BENCHMARKS.md from the stored figures.)
// Each section starts its own local runtime (wrangler dev). Figures go to bench/results.json
// (sections not run keep their last figures) and the table in BENCHMARKS.md.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { RunView } from "../src/types.ts";
import { renderBenchmarks, type LimitsCell, type Results } from "./lib/bench-report.ts";
import { runWorkerdBench } from "./lib/workerd-bench.ts";
import { client } from "./lib/client.ts";
import { mergeBench } from "./lib/bench-merge.ts";
import { tasksBench } from "./lib/bench-tasks.ts";
import { goldBench } from "./lib/bench-gold.ts";
import { scdBench } from "./lib/bench-scd.ts";
import { literal, openDuck } from "./lib/duckdb.ts";
import { bytes, dollars, duration } from "./lib/format.ts";
import { putLocalR2 } from "./lib/local-r2.ts";
import { startLocalServer } from "./lib/local-server.ts";
import { hotSpots, startProfile } from "./lib/profile.ts";
import { runMain } from "./lib/run.ts";

const root = resolve(import.meta.dirname, "..");
const { values: args } = parseArgs({
  options: {
    only: { type: "string" },
    tasks: { type: "string", default: "1000,10000" },
    rates: { type: "string", default: "20,50,200" },
    concurrency: { type: "string", default: "50" },
    "merge-files": { type: "string", default: "80" },
    chunks: { type: "string", default: "0,1,2,3,4,5,6" },
    cells: { type: "string", default: "" },
    "cost-ids": { type: "string", default: "1000000" },
    /** Stations × years / partitions of the gold dataset. */
    gold: { type: "string", default: "200x29/128" },
    /** Keys / partitions of the current and history tables. */
    scd: { type: "string", default: "1000000/64" },
  },
});
const only = args.only?.split(",");
const wanted = (name: string) => !only || only.includes(name);

const phaseMs = (run: RunView, phase: keyof RunView["phases"]) => (run.phases[phase].finishedAt ?? 0) - (run.phases[phase].startedAt ?? 0);
const ids = (n: number, from = 1) => Array.from({ length: n }, (_, i) => String(from + i));

/** 1. The upstream at its limit: one run of 20 s worth of requests at R requests/second. */
async function limit(rate: number) {
  const requests = rate * 20;
  const latencyMs = 50;
  const server = await startLocalServer({
    inspect: true,
    vars: { SLUICE_SOURCE_LIMITS: JSON.stringify({ "sample-social": { rateLimit: [{ requests: rate, per: "1s", burst: rate }], concurrency: 50 } }) },
  });
  try {
    const api = client({ baseUrl: server.url, token: server.token });
    await api.sampleConfig({ perSecond: rate, burst: rate, latencyMs });
    // How busy the one isolate (Worker, Durable Objects and the sample upstream together) is during the run.
    const stopProfile = await startProfile(server.inspectorPort!);
    const { id } = await api.submit("sample-posts", { accounts: ids(requests), batchSize: 100 });
    const run = await api.wait(id, undefined, 250);
    const cpu = hotSpots(await stopProfile());
    const stats = await api.sampleStats();
    const actualMs = phaseMs(run, "ingest");
    const idealMs = (requests / rate) * 1000 + latencyMs;
    return {
      rate,
      requests,
      upstreamRequests: stats.requests,
      violations: stats.violations,
      idealMs,
      actualMs,
      utilization: idealMs / actualMs,
      isolateBusy: cpu.busyMs / cpu.totalMs,
      hotSpots: cpu.spots.slice(0, 6).map((x) => `${x.name} ${x.selfMs} ms`),
      status: run.status,
    };
  } finally {
    await server.stop();
  }
}

/** 2. The seeds' workload: 8 stations × 156 monthly chunks, 10 s per upstream call, concurrency C. */
async function seeds(concurrency: number, outDir: string) {
  const latencyMs = 10_000;
  const server = await startLocalServer({
    inspect: true,
    vars: { SLUICE_SOURCE_LIMITS: JSON.stringify({ "sample-edr": { concurrency, rateLimit: [{ requests: 1000, per: "1s", burst: 1000 }] } }) },
  });
  try {
    const api = client({ baseUrl: server.url, token: server.token });
    await api.sampleConfig({ latencyMs });
    // Where the one local isolate (sluice and the sample upstream together) spends its CPU.
    const stopProfile = await startProfile(server.inspectorPort!);
    const started = Date.now();
    const { id } = await api.submit("sample-weather", { from: "2012-01-01", to: "2025-01-01", chunk: "month" });
    // Polled every 2 s: the harness should not load the one local isolate (phase times come from the run).
    const run = await api.wait(id, undefined, 2000);
    const cpu = hotSpots(await stopProfile(), 8);
    const totalMs = Date.now() - started;
    const rows = run.output?.rows ?? 0;
    const file = join(outDir, "seeds-output.parquet");
    writeFileSync(file, await api.output(id));
    const idealIngestMs = Math.ceil(156 / concurrency) * latencyMs;
    const phases = (["ingest", "refine", "silver", "aggregate"] as const).map((p) => ({
      phase: p,
      ms: phaseMs(run, p),
      tasks: run.phases[p].total,
      rowsPerSecond: Math.round(rows / (phaseMs(run, p) / 1000)),
    }));
    return {
      concurrency,
      latencyMs,
      status: run.status,
      rows,
      totalMs,
      idealIngestMs,
      ingestRatio: phases[0]!.ms / idealIngestMs,
      phases,
      file: relative(root, file),
      cpuMs: cpu.busyMs,
      hotSpots: cpu.spots.map((x) => `${x.name} ${x.selfMs} ms`),
      usage: run.usage,
    };
  } finally {
    await server.stop();
  }
}

/** 7. What a run costs: sample-posts over N listed ids (scripts/scale-posts.ts), its usage at Cloudflare's prices. */
function costs(ids: number, outDir: string): NonNullable<Results["costs"]>["posts"] {
  const file = join(outDir, `cost-posts-${ids}.json`);
  const child = spawnSync(process.execPath, [join(root, "scripts/scale-posts.ts"), "--ids", String(ids), "--json", file], { cwd: root, stdio: "inherit" });
  if (child.status !== 0) throw new Error(`the ${ids}-id run failed (exit ${child.status})`);
  return JSON.parse(readFileSync(file, "utf8")) as NonNullable<Results["costs"]>["posts"];
}

/**
 * 3. Writing the seeds' silver rows: sluice's writer in workerd against DuckDB on the same rows, and
 * the writers tried beside it (test/bench/parquet-writers.bench.ts) against DuckDB with each codec.
 */
async function parquet(seedsOutput: string | undefined, outDir: string) {
  const seedsFile = seedsOutput === undefined ? undefined : resolve(root, seedsOutput);
  const [sluice] = (await runWorkerdBench("test/bench/parquet-write.bench.ts", {})) as unknown as {
    rows: number;
    temperatureSum: number;
    bytes: number;
    runsMs: number[];
    toColumnsMs: number[];
    encodeMs: number[];
  }[];
  const [tried] = (await runWorkerdBench("test/bench/parquet-writers.bench.ts", {})) as unknown as {
    writers: Record<string, { ms: number[]; bytes: number }>;
  }[];
  if (!sluice || !tried) throw new Error("a workerd Parquet bench printed no result");
  if (!seedsFile || !existsSync(seedsFile)) throw new Error("the parquet section reads the seeds section's output: run it with --only seeds,parquet");
  const duck = await openDuck();
  try {
    await duck.all(`CREATE TABLE silver AS SELECT * FROM read_parquet(${literal(seedsFile)}) ORDER BY station_id, observed_at`);
    const [check] = await duck.all<{ n: number; t: number }>("SELECT count(*)::INTEGER AS n, sum(temperature) AS t FROM silver");
    const same = check?.n === sluice.rows && Math.abs((check?.t ?? 0) - sluice.temperatureSum) < 1e-3;
    const copy = async (codec: "zstd" | "snappy" | "uncompressed") => {
      const runsMs: number[] = [];
      let bytes = 0;
      for (let i = 0; i < 3; i++) {
        const out = join(outDir, `duckdb-write-${codec}-${i}.parquet`);
        const t0 = performance.now();
        await duck.all(`COPY silver TO ${literal(out)} (FORMAT parquet, COMPRESSION ${codec})`);
        runsMs.push(Math.round(performance.now() - t0));
        bytes = readFileSync(out).length;
      }
      return { runsMs, bytes };
    };
    const { runsMs, bytes } = await copy("zstd");
    const duckByCodec = { ZSTD: { runsMs, bytes }, SNAPPY: await copy("snappy"), UNCOMPRESSED: await copy("uncompressed") };
    const [threads] = await duck.all<{ t: string }>("SELECT current_setting('threads')::VARCHAR AS t");
    const best = (a: number[]) => Math.min(...a);
    // Each writer tried against DuckDB writing the same rows with the same codec.
    const writers = Object.entries(tried.writers).map(([name, w]) => {
      const codec = name.split(" ").at(-1) as keyof typeof duckByCodec;
      const duckBest = best(duckByCodec[codec].runsMs);
      return {
        name,
        codec,
        runsMs: w.ms,
        bestMs: best(w.ms),
        bytes: w.bytes,
        duckdbMs: duckBest,
        duckdbBytes: duckByCodec[codec].bytes,
        ratio: best(w.ms) / duckBest,
      };
    });
    return {
      rows: sluice.rows,
      sameRows: same,
      sluice: {
        runsMs: sluice.runsMs,
        bestMs: best(sluice.runsMs),
        rowsPerSecond: Math.round(sluice.rows / (best(sluice.runsMs) / 1000)),
        bytes: sluice.bytes,
        // its two steps apart: row objects → columns, and columns → the file
        toColumnsMs: sluice.toColumnsMs,
        encodeMs: sluice.encodeMs,
      },
      duckdb: { runsMs, bestMs: best(runsMs), rowsPerSecond: Math.round(sluice.rows / (best(runsMs) / 1000)), bytes, threads: threads?.t ?? "?" },
      ratio: best(sluice.runsMs) / best(runsMs),
      encodeRatio: best(sluice.encodeMs) / best(runsMs),
      writers,
    };
  } finally {
    duck.close();
  }
}

/** 5. The coordinator at N tasks: sample-posts with one account per batch (three tasks per batch plus merges). */
async function coordinator(tasks: number) {
  const accounts = Math.ceil(tasks / 3);
  // Up to 10,000 accounts go inline; a longer list goes into local R2 first and is planned as a stream.
  const stateDir = mkdtempSync(join(tmpdir(), "sluice-bench-coordinator-"));
  const listKey = `inputs/bench-accounts-${accounts}.txt`;
  if (accounts > 10_000) {
    const file = join(stateDir, "accounts.txt");
    writeFileSync(file, ids(accounts).join("\n") + "\n");
    putLocalR2(stateDir, listKey, file);
  }
  const server = await startLocalServer({
    stateDir,
    vars: { SLUICE_SOURCE_LIMITS: JSON.stringify({ "sample-social": { rateLimit: [{ requests: 5000, per: "1s", burst: 5000 }] } }) },
  });
  try {
    const api = client({ baseUrl: server.url, token: server.token });
    await api.sampleConfig({});
    const started = Date.now();
    const { id } = await api.submit("sample-posts", accounts > 10_000 ? { accountsKey: listKey, batchSize: 1 } : { accounts: ids(accounts), batchSize: 1 });
    const run = await api.wait(id, undefined, 1000);
    if (run.status !== "succeeded" && run.status !== "partial") throw new Error(`coordinator run of ${tasks} tasks ended ${run.status}: ${run.reason ?? ""}`);
    const totalMs = Date.now() - started;
    const count = Object.values(run.phases).reduce((n, p) => n + p.total, 0);
    return {
      tasks: count,
      batches: run.batches,
      status: run.status,
      totalMs,
      planningMs: (run.phases.ingest.startedAt ?? started) - (run.createdAt ?? started),
      tasksPerSecond: count / (totalMs / 1000),
      storageBytes: run.coordinator.storageBytes,
      reportCalls: run.coordinator.reportCalls,
      callsPerTask: run.coordinator.reportCalls / count,
    };
  } finally {
    await server.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  mkdirSync(join(root, "bench"), { recursive: true });
  const outDir = join(root, "out/bench");
  mkdirSync(outDir, { recursive: true });
  const file = join(root, "bench/results.json");
  const results: Results = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Results) : {};
  const save = () => {
    writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
    writeFileSync(join(root, "BENCHMARKS.md"), renderBenchmarks(results));
  };
  const at = new Date().toISOString();
  if (wanted("limits")) {
    const cells = (await runWorkerdBench("test/bench/limits-matrix.bench.ts", { BENCH_CELLS: args.cells })) as unknown as LimitsCell[];
    const key = (c: LimitsCell) => `${c.windows}/${c.algorithm}/${c.condition}`;
    const kept = (results.limits?.cells ?? []).filter((c) => !cells.some((n) => key(n) === key(c)));
    for (const c of cells) console.log(`limits ${key(c)}: utilization ${c.utilization.toFixed(3)}, violations ${c.violations}, repeats ${c.repeats}`);
    // Cells re-run replace theirs in place: the table keeps the matrix's order.
    const order = (c: LimitsCell) => [
      ["1s", "1s+1m", "1s+hour"].indexOf(c.windows),
      ["token-bucket", "fixed-window", "sliding-log", "sliding-counter"].indexOf(c.algorithm),
      ["none", "5xx", "shared", "shared-headers"].indexOf(c.condition),
    ];
    const byOrder = (a: LimitsCell, b: LimitsCell) => order(a).reduce((d, x, i) => d || x - order(b)[i]!, 0);
    results.limits = { at, cells: [...kept, ...cells].sort(byOrder) };
    save();
  }
  if (wanted("limit")) {
    const rows = results.limit?.rows.filter((r) => !args.rates.split(",").map(Number).includes(r.rate)) ?? [];
    for (const rate of args.rates.split(",").map(Number)) {
      const r = await limit(rate);
      console.log(
        `limit ${rate}/s: ${r.requests} requests, ingest ${duration(r.actualMs)} vs ideal ${duration(r.idealMs)}: utilization ${r.utilization.toFixed(3)}, violations ${r.violations}, isolate busy ${(r.isolateBusy * 100).toFixed(0)}%`,
      );
      rows.push(r);
    }
    results.limit = { at, rows: rows.sort((a, b) => a.rate - b.rate) };
    save();
  }
  if (wanted("seeds")) {
    const r = await seeds(Number(args.concurrency), outDir);
    console.log(
      `seeds: ${r.rows} rows in ${duration(r.totalMs)}; ingest ${duration(r.phases[0]!.ms)} vs ideal ${duration(r.idealIngestMs)} (${r.ingestRatio.toFixed(3)}×); ` +
        r.phases
          .slice(1)
          .map((p) => `${p.phase} ${duration(p.ms)} (${p.rowsPerSecond} rows/s)`)
          .join(", "),
    );
    results.seeds = { at, ...r };
    save();
  }
  if (wanted("parquet")) {
    const r = await parquet(results.seeds?.file, outDir);
    console.log(
      `parquet: ${r.rows} rows (same rows: ${r.sameRows}); sluice in workerd ${r.sluice.bestMs} ms (${r.sluice.rowsPerSecond} rows/s), DuckDB ${r.duckdb.bestMs} ms (${r.duckdb.rowsPerSecond} rows/s, ${r.duckdb.threads} threads): ratio ${r.ratio.toFixed(2)}`,
    );
    results.parquet = { at, ...r };
    save();
  }
  if (wanted("merge")) {
    const r = await mergeBench(outDir, Number(args["merge-files"]));
    for (const x of r.runs) {
      console.log(
        `merge ${r.files} files, ${r.rows} rows, ${bytes(r.inputBytes)}: ${x.writer} ${x.method} ${duration(x.ms)}, CPU ${x.cpuMs ?? "-"} ms, heap peak ${x.heapPeakBytes === null ? "-" : bytes(x.heapPeakBytes)}, wasm ${x.wasmBytes === null ? "-" : bytes(x.wasmBytes)}, same rows ${x.same}`,
      );
    }
    results.merge = { at, ...r };
    save();
  }
  if (wanted("tasks")) {
    const rows = await tasksBench(outDir, args.chunks.split(",").map(Number));
    for (const x of rows) {
      console.log(
        `tasks ${x.chunk} ${x.phase}: ${x.rows} rows, ${bytes(x.rawBytes)} raw, CPU ${x.cpuMs} ms (wall ${x.ms} ms), memory ${bytes(x.memoryStartBytes)} → peak ${bytes(x.memoryPeakBytes)} (+${bytes(x.memoryTaskBytes)})`,
      );
    }
    results.tasks = { at, rows };
    save();
  }
  if (wanted("coordinator")) {
    const asked = args.tasks.split(",").map(Number);
    // Sizes not run this time keep their last figures.
    const rows = results.coordinator?.rows.filter((r) => !asked.some((n) => Math.abs(r.tasks - n) / n < 0.05)) ?? [];
    for (const tasks of asked) {
      const r = await coordinator(tasks);
      console.log(
        `coordinator ${r.tasks} tasks: ${duration(r.totalMs)}, planning ${duration(r.planningMs)}, ${r.tasksPerSecond.toFixed(1)} tasks/s, SQLite ${r.storageBytes} B, ${r.callsPerTask.toFixed(3)} calls/task`,
      );
      rows.push(r);
    }
    results.coordinator = { at, rows: rows.sort((a, b) => a.tasks - b.tasks) };
    save();
  }
  if (wanted("costs")) {
    const r = costs(Number(args["cost-ids"]), outDir);
    console.log(`costs: ${r.ids} ids, ${r.tasks} tasks, ${r.rows} rows in ${duration(r.ms)}: ${dollars(r.usage.cost.dollars)}`);
    results.costs = { at, posts: r };
    save();
  }
  if (wanted("gold")) {
    const [stations, years, partitions] = args.gold.split(/[x/]/).map(Number);
    const r = await goldBench(outDir, { stations: stations!, years: years! }, partitions!);
    for (const t of r.tasks) {
      console.log(
        `gold ${t.label}: ${t.tasks} tasks, slowest ${duration(t.maxMs)}; first watched: CPU ${t.cpuMs ?? "-"} ms, memory ${t.memoryStartBytes === null ? "-" : bytes(t.memoryStartBytes)} → ${t.memoryPeakBytes === null ? "-" : bytes(t.memoryPeakBytes)}`,
      );
    }
    console.log(
      `gold: ${r.rows} rows → ${r.groups} groups; sluice ${duration(r.sluiceMs)} (tasks one at a time), DuckDB ${duration(r.duckdbMs)} (${r.duckdbThreads} threads); unmatched ${r.unmatched}, exact diffs ${r.exactDiffs}, max relative diff ${r.maxRelativeDiff}; hyparquet ${r.hyparquetRows} rows, count ${r.hyparquetCount}`,
    );
    results.gold = { at, ...r };
    save();
  }
  if (wanted("scd")) {
    const [keys, partitions] = args.scd.split("/").map(Number);
    const r = await scdBench(outDir, keys!, partitions!);
    for (const x of r.runs)
      console.log(
        `scd run ${x.run}: ${x.changes} changes → history ${x.history}, current ${x.current} in ${duration(x.ms)}; CPU ${x.cpuMs ?? "-"} ms, memory +${x.peakBytes === null ? "-" : bytes(x.peakBytes)}`,
      );
    console.log(
      `scd: DuckDB ${duration(r.duckdbMs)}; same history ${r.sameHistory}, same current ${r.sameCurrent}; hyparquet ${JSON.stringify(r.hyparquetRows)}`,
    );
    results.scd = { at, ...r };
    save();
  }
  save();
  console.log("wrote bench/results.json and BENCHMARKS.md");
  return 0;
}

runMain(main);
