// Bench section 4: about 1 GB of Parquet in many files merged into one, sluice in workerd (as
// the aggregate phase's final merge: stitched; and forced to rewrite every row group) against
// DuckDB's COPY over the same files, every output checked by DuckDB against the inputs.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { serveBenchFiles } from "./bench-files.ts";
import { literal, openDuck } from "./duckdb.ts";
import { freePort } from "./local-server.ts";
import { isolateWatcher, runWorkerdBench, type IsolateWatch } from "./workerd-bench.ts";

export interface MergeBenchRow {
  writer: string;
  method: string;
  ms: number;
  cpuMs: number | null;
  heapPeakBytes: number | null;
  /** JS heap + ArrayBuffers (wasm memory included): at the start after a full GC, and the largest sample. */
  memoryStartBytes: number | null;
  memoryPeakBytes: number | null;
  /** The most above its start with a full GC before each sample (a second run): what the merge held. */
  liveBytes?: number | null;
  wasmBytes: number | null;
  outputBytes: number;
  /** rows, temperature sum and a hash of every row equal to the inputs'. */
  same: boolean;
}

export interface MergeBench {
  files: number;
  rows: number;
  inputBytes: number;
  runs: MergeBenchRow[];
  duckdbThreads: string;
}

/** count, temperature sum and an order-independent hash of all rows, as DuckDB reads them. */
const FINGERPRINT = `count(*)::BIGINT AS n, sum(temperature) AS t,
  bit_xor(hash(station_id, observed_at, temperature, humidity, wind_speed, pressure, precipitation, quality_flags))::VARCHAR AS h`;

export async function mergeBench(outDir: string, files: number): Promise<MergeBench> {
  const dir = join(outDir, "merge");
  let onMark: (name: string) => Promise<void> = async () => undefined;
  const server = await serveBenchFiles(dir, (name) => onMark(name));
  const duck = await openDuck();
  try {
    const inputsDir = join(dir, "inputs");
    const have = existsSync(inputsDir) ? readdirSync(inputsDir).filter((f) => f.endsWith(".parquet")) : [];
    if (have.length !== files) {
      console.log(`merge: writing ${files} input files with sluice's writer in workerd…`);
      await runWorkerdBench("test/bench/merge-inputs.bench.ts", { BENCH_FILES_URL: server.url, BENCH_MERGE_FILES: String(files) });
    }
    const inputs = readdirSync(inputsDir)
      .filter((f) => f.endsWith(".parquet"))
      .sort()
      .map((f) => join(inputsDir, f));
    const inputBytes = inputs.reduce((n, f) => n + statSync(f).size, 0);
    const list = `[${inputs.map(literal).join(", ")}]`;
    const [expected] = await duck.all<{ n: number; t: number; h: string }>(`SELECT ${FINGERPRINT} FROM read_parquet(${list})`);
    if (!expected) throw new Error("DuckDB read nothing from the inputs");
    const same = async (file: string) => {
      const [got] = await duck.all<{ n: number; t: number; h: string }>(`SELECT ${FINGERPRINT} FROM read_parquet(${literal(file)})`);
      return got?.n === expected.n && Math.abs(got.t - expected.t) < 1e-6 * Math.abs(expected.t) && got.h === expected.h;
    };
    const rows: MergeBenchRow[] = [];

    for (const mode of ["auto", "rewrite"] as const) {
      const port = await freePort();
      const watcher = isolateWatcher(port);
      onMark = (name) => watcher.onMark(name);
      console.log(`merge: sluice, ${mode}…`);
      const [r] = (await runWorkerdBench("test/bench/merge.bench.ts", { BENCH_FILES_URL: server.url, BENCH_MERGE_MODE: mode }, port)) as {
        ms: number;
        method: string;
        bytes: number;
        wasmAfter: number;
      }[];
      const watch: IsolateWatch | undefined = watcher.result("merge");
      const live = watcher.result("merge:live");
      if (!r) throw new Error("the merge bench printed nothing");
      rows.push({
        writer: "sluice (workerd, 1 thread)",
        method: r.method,
        ms: r.ms,
        cpuMs: watch?.cpuMs ?? null,
        heapPeakBytes: watch?.heapPeakBytes ?? null,
        memoryStartBytes: watch?.backingPeakBytes === null || !watch ? null : watch.memoryStartBytes,
        memoryPeakBytes: watch?.backingPeakBytes === null || !watch ? null : watch.memoryPeakBytes,
        liveBytes: live && live.backingPeakBytes !== null ? live.memoryPeakBytes - live.memoryStartBytes : null,
        wasmBytes: r.wasmAfter,
        outputBytes: r.bytes,
        same: await same(join(dir, "output", `${mode}.parquet`)),
      });
      console.log(`merge: ${JSON.stringify(rows.at(-1))} ${JSON.stringify(watch?.hotSpots.slice(0, 4))}`);
    }

    const out = join(dir, "duckdb.parquet");
    const t0 = performance.now();
    await duck.all(`COPY (SELECT * FROM read_parquet(${list})) TO ${literal(out)} (FORMAT parquet, COMPRESSION zstd)`);
    const ms = Math.round(performance.now() - t0);
    const [threads] = await duck.all<{ t: string }>("SELECT current_setting('threads')::VARCHAR AS t");
    rows.push({
      writer: `DuckDB (${threads?.t ?? "?"} threads)`,
      method: "COPY … TO",
      ms,
      cpuMs: null,
      heapPeakBytes: null,
      memoryStartBytes: null,
      memoryPeakBytes: null,
      liveBytes: null,
      wasmBytes: null,
      outputBytes: statSync(out).size,
      same: await same(out),
    });
    return { files: inputs.length, rows: expected.n, inputBytes, runs: rows, duckdbThreads: threads?.t ?? "?" };
  } finally {
    duck.close();
    await server.close();
  }
}
