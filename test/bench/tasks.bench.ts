// Bench section 6 (npm run bench): one refine and one silver task of sample-weather run alone in
// workerd, from the seeds' chunk (8 stations × a month) up to a million rows (114 stations × a
// year). Node watches the isolate between the marks: CPU time and memory.
import { env } from "cloudflare:workers";
import { it } from "vitest";
import { refine } from "../../queues/handlers/refine";
import { silver } from "../../queues/handlers/silver";
import type { TaskContext } from "../../queues/handlers/context";
import type { TokenPool } from "../../queues/tokens";
import { getPipeline } from "../helpers";
import { layout } from "../../src/r2/layout";
import { coverageCollection } from "../../src/sample/coverage";
import { SAMPLE_STATIONS } from "../../src/sample/weather-data";
import type { Json, TaskMessage } from "../../src/types";
import { pulsingBucket } from "./pulse";
import { benchVar, clock, mark } from "./seeds-rows";

const CHUNKS = [
  { label: "8 stations × 1 month", stations: 8, start: "2024-01-01", end: "2024-02-01" },
  { label: "8 stations × 1 quarter", stations: 8, start: "2024-01-01", end: "2024-04-01" },
  { label: "8 stations × 1 year", stations: 8, start: "2024-01-01", end: "2025-01-01" },
  { label: "16 stations × 1 year", stations: 16, start: "2024-01-01", end: "2025-01-01" },
  { label: "32 stations × 1 year", stations: 32, start: "2024-01-01", end: "2025-01-01" },
  { label: "100 stations × 1 year", stations: 100, start: "2024-01-01", end: "2025-01-01" },
  { label: "114 stations × 1 year", stations: 114, start: "2024-01-01", end: "2025-01-01" },
];

const station = (i: number) =>
  i < SAMPLE_STATIONS.length ? SAMPLE_STATIONS[i]! : { id: String(30_000 + i), name: `Synthetic ${i}`, lat: 47 + (i % 9) * 0.5, lon: 6 + (i % 7) * 0.8 };

/** The chunk's CoverageJSON in R2 as bronze raw; its bytes are not held past the put. */
async function putRaw(key: string, stations: ReturnType<typeof station>[], chunk: (typeof CHUNKS)[number]): Promise<number> {
  const raw = new TextEncoder().encode(JSON.stringify(coverageCollection(stations, Date.parse(chunk.start), Date.parse(chunk.end))));
  await env.BUCKET.put(key, raw);
  return raw.length;
}

it("runs refine and silver tasks of growing chunks", async () => {
  const only = benchVar("BENCH_TASK_CHUNKS").split(",").map(Number);
  const pipeline = getPipeline("sample-weather");
  const version = { window: "2024", hive: "year=2024", n: 1 };
  const noTokens = {} as TokenPool; // refine and silver take no rate-limit tokens
  // Each chunk twice: once for time and CPU, once (":live") with a full GC before each memory sample.
  for (const [i, chunk] of CHUNKS.entries()) for (const live of [false, true]) {
    if (!only.includes(i)) continue;
    const stations = Array.from({ length: chunk.stations }, (_, k) => station(k));
    const batchId = live ? `bench-${i}-live` : `bench-${i}`;
    const partition = `bench-${i}`;
    const data = { stations: stations.map((s) => s.id), start: chunk.start, end: chunk.end };
    const rawKey = layout.bronzeRaw("sample-edr", partition);
    const rawBytes = live ? (await env.BUCKET.head(rawKey))!.size : await putRaw(rawKey, stations, chunk);
    const base = { v: 1, runId: "bench", pipeline: pipeline.name, group: "initial", maxAttempts: 1, version } as const;
    const steps: { phase: "refine" | "silver"; message: TaskMessage }[] = [
      { phase: "refine", message: { ...base, taskId: `${batchId}-refine`, phase: "refine", input: { kind: "refine", batchId, rawKey, partition, data } } },
      {
        phase: "silver",
        message: {
          ...base,
          taskId: `${batchId}-silver`,
          phase: "silver",
          input: {
            kind: "silver",
            batchId,
            refinedKey: layout.bronzeRefined(pipeline.name, version, batchId),
            params: pipeline.paramsSchema.parse({ stations: data.stations.slice(0, 100), from: chunk.start, to: chunk.end }) as Json,
          },
        },
      },
    ];
    for (const step of steps) {
      const ctx: TaskContext = { env: { ...env, BUCKET: pulsingBucket(env.BUCKET, live ? 50 : 20) }, message: step.message, pipeline, tokens: noTokens };
      const label = `${i}:${step.phase}${live ? ":live" : ""}`;
      await mark(`start:${label}`);
      const t0 = await clock();
      const outcome = step.phase === "refine" ? await refine(ctx) : await silver(ctx);
      const ms = (await clock()) - t0;
      await mark(`end:${label}`);
      if (outcome.reused) throw new Error("the bench's task found its output done: R2 was not fresh");
      console.log(
        `BENCH ${JSON.stringify({ bench: "task", chunk: i, label: chunk.label, phase: step.phase, live, rawBytes, rows: outcome.output.rows, outputBytes: outcome.output.bytes, ms })}`,
      );
    }
  }
}, 1_800_000);
