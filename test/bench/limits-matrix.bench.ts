// The rate-limit matrix: each upstream algorithm × three sets of windows × four conditions,
// one run per cell against the sample upstream enforcing it, the pipeline declaring the windows
// as a user would (no burst). Prints one "BENCH {json}" line per cell.
//   npm run bench -- --only limits          (one cell: --cells 1s/sliding-log/none)
//
// Utilization = ideal / the span the upstream saw (first to last request of the run, plus one
// latency). The ideal is the run's requests paced at the rate of each window they exceed (its
// requests / length; with a second client on the key, what that client leaves of it), the slowest
// of them, plus one latency: the fastest schedule that no upstream counting in any of these ways
// refuses (bursts are refused by a sliding counter after a full window, and by a sliding log for
// a window's length after them). The greedy span (each request as early as a sliding log of every
// window allows, bursts included: a bound only a client that knows its upstream keeps a log could
// reach) is printed beside it, and with a second client the ceiling: the span of a client that knows
// the upstream's state at every instant and never makes the second client refused
// (test/limit-ceiling.ts). Pages fetched twice are 200s the upstream gave twice for one URL.
import { expect, it } from "vitest";
import type { RateLimit } from "../../src/pipelines/define";
import type { LimitAlgorithm } from "../../src/sample/limit-algorithms";
import { durationMs } from "../../src/upstream/limits";
import { api, configureSample, env, waitForRun } from "../helpers";
import { ceilingSpanMs } from "../limit-ceiling";
import { accountsFrom, postsOf, postsPipeline, type UpstreamStats } from "../limits-pipelines";

const ALGORITHMS: LimitAlgorithm[] = ["token-bucket", "fixed-window", "sliding-log", "sliding-counter"];
const LATENCY_MS = 50;

const WINDOWS: Record<string, { label: string; limit: RateLimit; requests: number; otherPerSecond: number }> = {
  "1s": { label: "20 per second", limit: [{ requests: 20, per: "1s" }], requests: 200, otherPerSecond: 10 },
  "1s+1m": {
    label: "20 per second + 600 per minute",
    limit: [
      { requests: 20, per: "1s" },
      { requests: 600, per: "1m" },
    ],
    requests: 200,
    otherPerSecond: 5,
  },
  "1s+hour": {
    label: "20 per second + 50 per 5-second 'hour'",
    limit: [
      { requests: 20, per: "1s" },
      { requests: 50, per: "5s" },
    ],
    requests: 150,
    otherPerSecond: 5,
  },
};
/** No faults; 10% of requests answered 503; a second client on the key; the same with answers stating X-RateLimit-Remaining. */
const CONDITIONS = ["none", "5xx", "shared", "shared-headers"] as const;

/** The fastest schedule of `n` requests that keeps every window: each request as early as every window allows. */
function idealSpanMs(limit: { requests: number; ms: number }[], n: number): number {
  const times: number[] = [];
  for (let i = 0; i < n; i++) times.push(Math.max(0, ...limit.map((w) => (i >= w.requests ? times[i - w.requests]! + w.ms : 0))));
  return times.at(-1)!;
}

/** The run's requests paced at the rate of every window they exceed (a window they fit in costs nothing). */
export function pacedMs(limit: { requests: number; ms: number }[], n: number): number {
  return Math.max(0, ...limit.filter((w) => n > w.requests).map((w) => (n * w.ms) / w.requests));
}

const cells = String((env as unknown as Record<string, unknown>).BENCH_CELLS ?? "")
  .split(",")
  .filter(Boolean)
  .map((c) => c.split("/"));
const wanted = (w: string, a: string, c: string) => cells.length === 0 || cells.some(([cw, ca, cc]) => cw === w && (!ca || ca === a) && (!cc || cc === c));

let first = 20_000;
for (const [windowsKey, spec] of Object.entries(WINDOWS)) {
  for (const algorithm of ALGORITHMS) {
    for (const condition of CONDITIONS) {
      if (!wanted(windowsKey, algorithm, condition)) continue;
      const accounts = accountsFrom(first, spec.requests);
      first += spec.requests * 2;
      it(`${spec.label} · ${algorithm} · ${condition}`, async () => {
        const name = `lm-${windowsKey.replace(/[^a-z0-9]/g, "")}-${algorithm}-${condition}`;
        postsPipeline(name, spec.limit, { size: 20, concurrency: Number((env as unknown as Record<string, unknown>).BENCH_CONCURRENCY ?? 32) });
        await configureSample({
          latencyMs: LATENCY_MS,
          limits: spec.limit.map((w) => ({ algorithm, requests: w.requests, perMs: durationMs(w.per) })),
          trackRepeats: true,
          seed: 7,
          ...(condition === "5xx" ? { faultRate: 0.1, faultKinds: ["5xx"] } : {}),
          ...(condition.startsWith("shared") ? { otherClientPerSecond: spec.otherPerSecond } : {}),
          ...(condition === "shared-headers" ? { rateLimitHeaders: "x-ratelimit" as const } : {}),
        });
        const res = await api("/v1/jobs", { method: "POST", json: { pipeline: name, params: { accounts, tag: name } } });
        expect(res.status).toBe(202);
        const { id } = (await res.json()) as { id: string };
        const view = await waitForRun(id, 600_000);
        const stats = (await (await api("/sample/edr/_stats")).json()) as UpstreamStats;
        expect(view.status).toBe("succeeded");
        expect(view.output?.rows).toBe(postsOf(accounts));
        const windows = spec.limit.map((w) => {
          const ms = durationMs(w.per);
          const taken = condition.startsWith("shared") ? (spec.otherPerSecond * ms) / 1000 : 0;
          return { requests: w.requests - taken, ms };
        });
        const idealMs = Math.round(pacedMs(windows, spec.requests)) + LATENCY_MS;
        const greedyMs = idealSpanMs(windows, spec.requests) + LATENCY_MS;
        const upstreamSpecs = spec.limit.map((w) => ({ algorithm, requests: w.requests, perMs: durationMs(w.per) }));
        const ceilingMs = condition.startsWith("shared") ? ceilingSpanMs(upstreamSpecs, spec.requests, spec.otherPerSecond) + LATENCY_MS : undefined;
        const spanMs = (stats.lastAt ?? 0) - (stats.firstAt ?? 0) + LATENCY_MS;
        const ingest = view.phases.ingest;
        console.log(
          `BENCH ${JSON.stringify({
            windows: windowsKey,
            label: spec.label,
            algorithm,
            condition,
            requests: spec.requests,
            sent: stats.requests,
            violations: stats.violations,
            faults: stats.faults["5xx"] ?? 0,
            repeats: stats.repeats,
            other: stats.other,
            idealMs,
            greedyMs,
            ...(ceilingMs === undefined ? {} : { ceilingMs }),
            spanMs,
            ingestMs: (ingest.finishedAt ?? 0) - (ingest.startedAt ?? 0),
            utilization: Math.round((idealMs / spanMs) * 1000) / 1000,
          })}`,
        );
      });
    }
  }
}
