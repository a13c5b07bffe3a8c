// CPU profiles of the local Worker through the V8 inspector (wrangler dev --inspector-port):
// record for a while, then sum self time by function so a benchmark can say where time goes.
// The Worker, its Durable Objects and the sample upstream share one isolate, so one profile
// covers all of them. (ws, not Node's WebSocket: undici's handshake is refused by wrangler's
// inspector proxy.)
import WebSocket from "ws";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  name: string;
  selfMs: number;
  share: number;
}

/** A DevTools-protocol session on the first target the inspector lists (that `filter` accepts). */
async function session(
  port: number,
  filter: TargetFilter = () => true,
): Promise<{ send: (method: string, params?: object) => Promise<unknown>; close: () => void; contexts: number[] }> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as {
    webSocketDebuggerUrl?: string;
    id?: string;
    title?: string;
    url?: string;
  }[];
  const target = targets.find((t) => t.webSocketDebuggerUrl && filter(t));
  if (!target?.webSocketDebuggerUrl) throw new Error(`the inspector on port ${port} lists no target`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  let next = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const contexts: number[] = []; // execution contexts reported after Runtime.enable
  ws.on("message", (data) => {
    const msg = JSON.parse(String(data)) as { id?: number; method?: string; result?: unknown; error?: { message: string }; params?: unknown };
    if (msg.method === "Runtime.executionContextCreated") contexts.push((msg.params as { context: { id: number } }).context.id);
    if (msg.id === undefined) return; // an event (workerd's answers carry their method too)
    const w = waiting.get(msg.id);
    waiting.delete(msg.id);
    if (msg.error) w?.reject(new Error(msg.error.message));
    else w?.resolve(msg.result);
  });
  return {
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const id = next++;
        waiting.set(id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
    contexts,
  };
}

/** Start recording; the returned function stops and hands back the profile. */
export async function startProfile(port: number, samplingIntervalUs = 1000): Promise<() => Promise<CpuProfile>> {
  const s = await session(port);
  await s.send("Profiler.enable");
  await s.send("Profiler.setSamplingInterval", { interval: samplingIntervalUs });
  await s.send("Profiler.start");
  return async () => {
    const { profile } = (await s.send("Profiler.stop")) as { profile: CpuProfile };
    s.close();
    return profile;
  };
}

/** Self time per function (name and source position), largest first; idle and GC kept as V8 names them. */
export function hotSpots(profile: CpuProfile, top = 15): { totalMs: number; busyMs: number; spots: HotSpot[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const frame = byId.get(id)?.callFrame;
    if (!frame) return;
    if (frame.functionName === "(idle)") idle += dt;
    const file = frame.url.split("/").slice(-2).join("/");
    const name = `${frame.functionName || "(anonymous)"}${file ? ` ${file}:${frame.lineNumber + 1}` : ""}`;
    self.set(name, (self.get(name) ?? 0) + dt);
  });
  const busy = total - idle;
  const spots = [...self.entries()]
    .filter(([name]) => !name.startsWith("(idle)"))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, ms]) => ({ name, selfMs: Math.round(ms), share: busy > 0 ? ms / busy : 0 }));
  return { totalMs: Math.round(total), busyMs: Math.round(busy), spots };
}

export interface HeapSample {
  /** Date.now() in Node when the answer came. */
  at: number;
  usedBytes: number;
  totalBytes: number;
  /** ArrayBuffer backing stores (typed arrays, wasm memory), when the inspector reports them. */
  backingBytes: number | null;
}

export type TargetFilter = (t: { id?: string; title?: string; url?: string }) => boolean;

/** A watch of one isolate: `sample` takes a heap sample now; `stop` ends it. */
export interface IsolateWatchHandle {
  sample(): Promise<void>;
  stop(): Promise<{ profile: CpuProfile; heap: HeapSample[] }>;
}

/**
 * Watch one isolate: a CPU profile, and its JS heap (Runtime.getHeapUsage) at the start, at
 * each `sample()` and at the end. workerd answers the inspector only while the isolate waits for
 * something slow: a timer polling from Node got two samples (start and end) from a silver task
 * of 2 s that awaited R2 hundreds of times, whose replies come back too fast for the inspector
 * to take its turn. So the watched code asks for samples itself, awaiting Node while Node takes
 * one (test/bench/pulse.ts: before each R2 call and each read of a body, 20 ms apart at most):
 * samples fall at the task's awaits, not inside a synchronous stretch between two. The CPU
 * profile has no such gaps. With `live` (workerd started with --expose-gc), each sample follows
 * a full GC, so it counts what the isolate still holds, not garbage not yet collected (the CPU
 * profile then includes those collections: take CPU from a run without it).
 */
export async function watchIsolate(port: number, filter: TargetFilter, live = false): Promise<IsolateWatchHandle> {
  const s = await session(port, filter);
  // A full GC first, so the baseline is live data only. wrangler dev's inspector proxy never
  // answers this one: give it a second.
  await Promise.race([s.send("HeapProfiler.collectGarbage"), new Promise((resolve) => setTimeout(resolve, 1000))]);
  if (live) await s.send("Runtime.enable"); // gc() is evaluated in the isolate's execution context
  await s.send("Profiler.enable");
  await s.send("Profiler.setSamplingInterval", { interval: 1000 });
  await s.send("Profiler.start");
  const heap: HeapSample[] = [];
  const sample = async () => {
    if (live) await s.send("Runtime.evaluate", { expression: "gc()", contextId: s.contexts.at(-1) });
    const r = (await s.send("Runtime.getHeapUsage")) as { usedSize: number; totalSize: number; backingStorageSize?: number };
    heap.push({ at: Date.now(), usedBytes: r.usedSize, totalBytes: r.totalSize, backingBytes: r.backingStorageSize ?? null });
  };
  await sample(); // the baseline, taken before the caller lets the work start
  return {
    sample,
    async stop() {
      await sample();
      const { profile } = (await s.send("Profiler.stop")) as { profile: CpuProfile };
      s.close();
      return { profile, heap };
    },
  };
}
