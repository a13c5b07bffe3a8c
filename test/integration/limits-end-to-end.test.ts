// Rate limits end to end, against the sample upstream enforcing them as other APIs do (sliding
// log, fixed window, a second client on the key), with short windows so a test can wait through
// them: waiting is not failing, pages are retried where they failed, a failed task stops its
// other requests, and 429s teach the limiter the share another client leaves.
import { limiterStub } from "../../durable-objects/rpc/limiter";
import { describe, expect, it } from "vitest";
import type { RateLimit } from "../../src/pipelines/define";
import type { TaskView } from "../../src/types";
import { api, configureSample, env, waitForRun } from "../helpers";
import { accountsFrom, postsOf, postsPipeline, type UpstreamStats } from "../limits-pipelines";

const stats = async (): Promise<UpstreamStats> => (await api("/sample/edr/_stats")).json();

async function run(pipeline: string, accounts: string[]) {
  const tag = `t${crypto.randomUUID().slice(0, 8)}`;
  const res = await api("/v1/jobs", { method: "POST", json: { pipeline, params: { accounts, tag } } });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  const view = await waitForRun(id, 110_000);
  const tasks = (await (await api(`/v1/jobs/${id}/tasks?phase=ingest&limit=1000`)).json()) as { tasks: TaskView[] };
  return { view, tasks: tasks.tasks };
}

describe("rate limits end to end", () => {
  it("waits through a short 'hour' three times over: every task keeps its one attempt, exact, 0 violations", async () => {
    // 90 requests at 30 per 3-second fixed window (and 10 per rolling second): three windows of budget.
    const limit: RateLimit = [
      { requests: 10, per: "1s" },
      { requests: 30, per: "3s" },
    ];
    postsPipeline("limits-waiting", limit, { maxAttempts: 1, size: 30 });
    await configureSample({
      limits: [
        { algorithm: "sliding-log", requests: 10, perMs: 1_000 },
        { algorithm: "fixed-window", requests: 30, perMs: 3_000 },
      ],
    });
    const accounts = accountsFrom(5_000, 90);
    const { view, tasks } = await run("limits-waiting", accounts);
    const s = await stats();
    expect(view.status).toBe("succeeded");
    expect(view.output?.rows).toBe(postsOf(accounts));
    expect(s.violations).toBe(0);
    expect(s.requests).toBe(90);
    expect(tasks.map((t) => [t.status, t.attempts])).toEqual(tasks.map(() => ["succeeded", 1]));
  });

  it("retries a failed page inside its task: no page fetched twice, the task's first attempt succeeds", async () => {
    postsPipeline("limits-pages", [{ requests: 200, per: "1s" }], { pageSize: 3, maxAttempts: 1 });
    await configureSample({
      limits: [{ algorithm: "sliding-log", requests: 200, perMs: 1_000 }],
      faultRate: 0.1,
      faultKinds: ["5xx"],
      trackRepeats: true,
      seed: 11,
    });
    const accounts = accountsFrom(7_000, 40);
    const { view, tasks } = await run("limits-pages", accounts);
    const s = await stats();
    expect(view.status).toBe("succeeded");
    expect(view.output?.rows).toBe(postsOf(accounts));
    expect(s.faults["5xx"]).toBeGreaterThan(5);
    expect(s.repeats).toBe(0);
    expect(s.violations).toBe(0);
    expect(tasks.every((t) => t.attempts === 1)).toBe(true);
  });

  it("stops a task's other requests when one fails for good: no request after it, every permit back", async () => {
    postsPipeline("limits-stop", [{ requests: 20, per: "1s" }], { concurrency: 3, maxAttempts: 1, size: 40 });
    await configureSample({ limits: [{ algorithm: "sliding-log", requests: 20, perMs: 1_000 }], brokenAccounts: ["9004"] });
    const { view, tasks } = await run("limits-stop", accountsFrom(9_000, 40));
    const s = await stats();
    expect(view.status).toBe("failed");
    expect(tasks[0]?.error?.status).toBe(400);
    // Accounts 9000-9004 and the two lanes' requests in flight when 9004 failed, at most.
    expect(s.requests).toBeLessThanOrEqual(5 + 2);
    const limiter = await limiterStub(env, "limits-stop-api").snapshot();
    expect(limiter.inFlight).toBe(0);
  });

  it("learns the share a second client on the key leaves, honouring Retry-After dates: exact, few 429s", async () => {
    postsPipeline("limits-shared", [{ requests: 40, per: "1s" }], { size: 20 });
    await configureSample({ limits: [{ algorithm: "sliding-log", requests: 40, perMs: 1_000 }], otherClientPerSecond: 20, retryAfter: "date" });
    const accounts = accountsFrom(11_000, 200);
    const started = Date.now();
    const { view } = await run("limits-shared", accounts);
    const s = await stats();
    expect(view.status).toBe("succeeded");
    expect(view.output?.rows).toBe(postsOf(accounts));
    expect(s.requests - s.violations).toBe(200);
    // The other client was on the key first: the first block meets its half-full window, and a
    // 429 teaches the share left (tokens leased before it are not spent), not a wave of the
    // requests in flight.
    expect(s.violations).toBeLessThanOrEqual(8);
    expect(s.other.sent).toBeGreaterThan(0);
    const limiter = await limiterStub(env, "limits-shared-api").snapshot();
    expect(limiter.factor).toBeLessThan(0.75);
    expect(Date.now() - started).toBeGreaterThan(4_000); // 200 requests at the 20/s left take ≥ 5 s, not 2.5 s
  });

  it("learns the share from what the answers say remains (X-RateLimit-Remaining), before any 429: none at all", async () => {
    // The IETF RateLimit field is read the same way (test/unit/limiter-answers.test.ts).
    postsPipeline("limits-quota", [{ requests: 40, per: "1s" }], { size: 20 });
    await configureSample({ limits: [{ algorithm: "sliding-log", requests: 40, perMs: 1_000 }], otherClientPerSecond: 20, rateLimitHeaders: "x-ratelimit" });
    const accounts = accountsFrom(12_000, 120);
    const { view } = await run("limits-quota", accounts);
    const s = await stats();
    expect(view.status).toBe("succeeded");
    expect(view.output?.rows).toBe(postsOf(accounts));
    expect(s.violations).toBe(0);
    expect(s.requests).toBe(120);
    expect(s.other.sent).toBeGreaterThan(0);
    const limiter = await limiterStub(env, "limits-quota-api").snapshot();
    expect(limiter.quotaHeaders).toBe(true);
    expect(limiter.factor).toBe(1); // no 429 taught anything
  });
});
