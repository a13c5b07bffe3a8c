// Running a workerd bench file (vitest project bench-workerd) from Node: its "BENCH {json}" lines,
// optionally with the V8 inspector open so Node can watch the isolate between the bench's marks.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { hotSpots, watchIsolate, type HeapSample, type IsolateWatchHandle } from "./profile.ts";

const root = resolve(import.meta.dirname, "../..");

/** Run one bench file; resolves with every BENCH line's JSON, rejects when vitest fails. */
export function runWorkerdBench(file: string, env: Record<string, string>, inspectorPort?: number): Promise<Record<string, unknown>[]> {
  const args = ["run", "--project", "bench-workerd", ...(inspectorPort ? [`--inspect=${inspectorPort}`, "--no-file-parallelism"] : []), file];
  // A watched isolate may be measured live (":live" marks): gc() is there to call before each sample.
  const flags = inspectorPort ? { MINIFLARE_WORKERD_V8_FLAGS: "--expose-gc" } : {};
  const child = spawn(join(root, "node_modules/.bin/vitest"), args, { cwd: root, env: { ...process.env, ...flags, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolvePromise, reject) => {
    child.on("close", (code) => {
      const lines = out.split("\n").filter((l) => l.includes("BENCH {"));
      if (code !== 0 || lines.length === 0) reject(new Error(`${file} failed (exit ${code}):\n${out.slice(-4000)}`));
      else resolvePromise(lines.map((l) => JSON.parse(l.slice(l.indexOf("{"))) as Record<string, unknown>));
    });
  });
}

export interface IsolateWatch {
  /** CPU time the isolate spent between the marks (profile samples that were not idle). */
  cpuMs: number;
  wallMs: number;
  /** JS heap in use: the first sample, and the largest. */
  heapStartBytes: number;
  heapPeakBytes: number;
  /** ArrayBuffer backing stores (typed arrays, wasm memory): the largest, or null if not reported. */
  backingPeakBytes: number | null;
  /** JS heap + backing stores at the start (after a full GC), and the largest in one sample. */
  memoryStartBytes: number;
  memoryPeakBytes: number;
  heapSamples: number;
  hotSpots: { name: string; selfMs: number }[];
}

/**
 * Marks "start[:label]" / "end[:label]" from the bench → a watch of the vitest runner isolate in
 * between, per label; "sample" marks in between (test/bench/pulse.ts) each take a heap sample. The
 * heap is collected at each start, so a watch starts from live data only; a label ending ":live"
 * collects it before every sample too (watchIsolate's `live`).
 */
export function isolateWatcher(inspectorPort: number) {
  let watch: IsolateWatchHandle | undefined;
  let started = 0;
  const results = new Map<string, IsolateWatch>();
  return {
    async onMark(mark: string) {
      const [edge, ...rest] = mark.split(":");
      const label = rest.join(":");
      if (edge === "sample") {
        await watch?.sample();
      } else if (edge === "start") {
        started = Date.now();
        watch = await watchIsolate(inspectorPort, (t) => (t.id ?? "").includes("vitest-plugin-runner-bench-workerd"), label.endsWith(":live"));
      } else if (edge === "end" && watch) {
        const { profile, heap } = await watch.stop();
        watch = undefined;
        const spots = hotSpots(profile, 8);
        // BENCH_PROFILES=dir keeps each watch's CPU profile, for Chrome DevTools or speedscope.
        if (process.env.BENCH_PROFILES) writeFileSync(join(process.env.BENCH_PROFILES, `${label.replace(/[^\w.-]/g, "_")}.cpuprofile`), JSON.stringify(profile));
        results.set(label, {
          cpuMs: spots.busyMs,
          wallMs: Date.now() - started,
          heapStartBytes: heap[0]?.usedBytes ?? 0,
          heapPeakBytes: Math.max(0, ...heap.map((h) => h.usedBytes)),
          backingPeakBytes: heap.some((h) => h.backingBytes !== null) ? Math.max(0, ...heap.map((h) => h.backingBytes ?? 0)) : null,
          memoryStartBytes: heap[0] ? heap[0].usedBytes + (heap[0].backingBytes ?? 0) : 0,
          memoryPeakBytes: Math.max(0, ...heap.map((h) => h.usedBytes + (h.backingBytes ?? 0))),
          heapSamples: heap.length,
          hotSpots: spots.spots.map((s) => ({ name: s.name, selfMs: s.selfMs })),
        });
      }
    },
    result: (label = "") => results.get(label),
  };
}
