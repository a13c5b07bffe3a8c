// Bench section 6: CPU time and memory of one ingest, one refine and one silver task of sample-weather, from
// the seeds' chunk up to the largest the pipeline takes, watched over the V8 inspector.
import { join } from "node:path";
import { serveBenchFiles } from "./bench-files.ts";
import { freePort } from "./local-server.ts";
import { isolateWatcher, runWorkerdBench } from "./workerd-bench.ts";

/** A Worker's limits (Cloudflare's Workers limits, paid plan defaults). */
export const WORKER_MEMORY_BYTES = 128 * 1024 * 1024;
export const WORKER_CPU_MS = 30_000;

export interface TaskBenchRow {
  chunk: string;
  phase: "ingest" | "refine" | "silver";
  rawBytes: number;
  rows: number;
  outputBytes: number;
  ms: number;
  cpuMs: number;
  /** JS heap + ArrayBuffers (wasm memory included) at the start, after a full GC, and the largest seen. */
  memoryStartBytes: number;
  memoryPeakBytes: number;
  /** Memory the task added at its peak. */
  memoryTaskBytes: number;
  /** The same task run again with a full GC before each sample: what it held at most, garbage left out. */
  liveStartBytes?: number;
  liveTaskBytes?: number;
}

export async function tasksBench(outDir: string, chunks: number[]): Promise<TaskBenchRow[]> {
  const port = await freePort();
  const watcher = isolateWatcher(port);
  const server = await serveBenchFiles(join(outDir, "tasks"), (name) => watcher.onMark(name));
  try {
    const lines = (await runWorkerdBench("test/bench/tasks.bench.ts", { BENCH_FILES_URL: server.url, BENCH_TASK_CHUNKS: chunks.join(",") }, port)) as {
      chunk: number;
      label: string;
      phase: "ingest" | "refine" | "silver";
      live: boolean;
      rawBytes: number;
      rows: number;
      outputBytes: number;
      ms: number;
    }[];
    return lines.filter((l) => !l.live).map((l) => {
      const watch = watcher.result(`${l.chunk}:${l.phase}`);
      const live = watcher.result(`${l.chunk}:${l.phase}:live`);
      if (!watch || !live) throw new Error(`no watch of ${l.label} ${l.phase}`);
      return {
        chunk: l.label,
        phase: l.phase,
        rawBytes: l.rawBytes,
        rows: l.rows,
        outputBytes: l.outputBytes,
        ms: l.ms,
        cpuMs: watch.cpuMs,
        memoryStartBytes: watch.memoryStartBytes,
        memoryPeakBytes: watch.memoryPeakBytes,
        memoryTaskBytes: watch.memoryPeakBytes - watch.memoryStartBytes,
        liveStartBytes: live.memoryStartBytes,
        liveTaskBytes: live.memoryPeakBytes - live.memoryStartBytes,
      };
    });
  } finally {
    await server.close();
  }
}
