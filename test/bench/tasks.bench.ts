// Bench section 6 (npm run bench): one ingest, one refine and one silver task of sample-weather
// run alone in workerd, from the seeds' chunk (8 stations × a month) up to a million rows (114
// stations × a year). Node watches the isolate between the marks: CPU time and memory. Ingest
// fetches the chunk's CoverageJSON from a stand-in upstream that streams it out of R2 (the sample
// upstream would build the whole body in the same isolate, and its memory would count as the task's).
import { env } from "cloudflare:workers";
import { it } from "vitest";
import { ingest } from "../../queues/handlers/ingest";
import { refine } from "../../queues/handlers/refine";
import { silver } from "../../queues/handlers/silver";
import type { TaskContext } from "../../queues/handlers/context";
import type { TokenPool } from "../../queues/tokens";
import { getPipeline } from "../helpers";
import { layout } from "../../src/r2/layout";
import { setStandInUpstream } from "../../src/upstream/fetch";
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

/** Where the stand-in upstream keeps the chunk's answer. */
const UPSTREAM = "https://bench-upstream.test";
const served = (i: number) => `bench/upstream/chunk-${i}.json`;

/** A token pool that grants every token at once: the bench's ingest has the upstream to itself. */
const freeTokens = {
  take: async () => ({ at: Date.now(), seq: undefined }),
  answered: () => undefined,
  done: () => undefined,
  throttled: async () => undefined,
  deferMs: 0,
} as unknown as TokenPool;

/** The chunk's CoverageJSON in R2 (for the stand-in upstream to serve); its bytes are not held past the put. */
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
  // sample-weather, asking the stand-in upstream for each chunk (up to 64 MiB: 114 stations × a year is 46 MB).
  const fetching = {
    ...pipeline,
    source: { ...pipeline.source, baseUrl: UPSTREAM, maxResponseBytes: 64 * 1024 * 1024 },
    request: (batch: { partition: string }) => ({ url: `${UPSTREAM}/${served(Number(/^bench-(\d+)/.exec(batch.partition)![1]))}` }),
  };
  // Each chunk twice: once for time and CPU, once (":live") with a full GC before each memory sample.
  for (const [i, chunk] of CHUNKS.entries()) for (const live of [false, true]) {
    if (!only.includes(i)) continue;
    const stations = Array.from({ length: chunk.stations }, (_, k) => station(k));
    const batchId = live ? `bench-${i}-live` : `bench-${i}`;
    const partition = live ? `bench-${i}-live` : `bench-${i}`;
    const data = { stations: stations.map((s) => s.id), start: chunk.start, end: chunk.end };
    const rawBytes = live ? (await env.BUCKET.head(served(i)))!.size : await putRaw(served(i), stations, chunk);
    const rawKey = layout.bronzeRaw("sample-edr", partition);
    const base = { v: 1, runId: "bench", pipeline: pipeline.name, group: "initial", maxAttempts: 1, version } as const;
    const steps: { phase: "ingest" | "refine" | "silver"; message: TaskMessage }[] = [
      { phase: "ingest", message: { ...base, taskId: `${batchId}-ingest`, phase: "ingest", input: { kind: "ingest", batch: { id: batchId, partition, data } } } },
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
      const bucket = pulsingBucket(env.BUCKET, live ? 50 : 20);
      // The stand-in upstream streams the chunk out of R2 (through the watched bucket, so its reads sample the heap too).
      setStandInUpstream(async () => {
        const object = (await bucket.get(served(i)))!;
        return new Response(object.body, { headers: { "content-type": "application/json", "content-length": String(object.size) } });
      });
      const ctx: TaskContext = { env: { ...env, BUCKET: bucket }, message: step.message, pipeline: step.phase === "ingest" ? fetching : pipeline, tokens: step.phase === "ingest" ? freeTokens : noTokens };
      const label = `${i}:${step.phase}${live ? ":live" : ""}`;
      await mark(`start:${label}`);
      const t0 = await clock();
      const outcome = step.phase === "ingest" ? await ingest(ctx) : step.phase === "refine" ? await refine(ctx) : await silver(ctx);
      const ms = (await clock()) - t0;
      await mark(`end:${label}`);
      if (outcome.reused) throw new Error("the bench's task found its output done: R2 was not fresh");
      console.log(
        `BENCH ${JSON.stringify({ bench: "task", chunk: i, label: chunk.label, phase: step.phase, live, rawBytes, rows: outcome.output.rows, outputBytes: outcome.output.bytes, ms })}`,
      );
    }
  }
}, 1_800_000);
