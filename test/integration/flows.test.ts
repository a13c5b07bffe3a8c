// Flows (issue 17, item 3): steps that are pipeline runs, chained by `after`, run for one window.
// Seed 004's daily job (generate, then two pipelines in parallel) and seed 002's chain (two
// crawlers, then processing, ETL and upload, with a notification) run end to end against the
// sample upstream; a failed step is retried, blocks what needs it, and a re-run starts from it
// without redoing the steps that succeeded; timeouts and cancel stop the running steps' runs.
import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { defineFlow, type Flow, type FlowDefinition } from "../../src/flows/define";
import type { FlowRunView } from "../../src/flows/views";
import { definePipeline, type Pipeline } from "../../src/pipelines/define";
import { SAMPLE_ORIGIN } from "../../src/upstream/fetch";
import { flowStub } from "../../durable-objects/rpc/flow";
import { sluice } from "../../src/index";
import { api, configureSample, env, getRun, registerPipeline } from "../helpers";
import { POSTS, accountItems, socialSource } from "../limits-pipelines";

/** Posts of the accounts given, for a window: each step of a flow is a run of one of these. */
function posts(name: string, latencyNote = ""): Pipeline {
  return definePipeline({
    name,
    description: `posts of some accounts for a day${latencyNote}`,
    params: z.object({ from: z.string(), to: z.string(), accounts: z.array(z.string()).min(1) }).strict(),
    source: socialSource("flows-api", 8),
    *plan(params) {
      yield { partition: `posts/${name}/day=${params.from}/${params.accounts.join("-")}`, data: { accounts: params.accounts } };
    },
    items: accountItems,
    ...POSTS,
    maxAttempts: 1,
    retryPasses: 0,
    window: (p) => ({ name: p.from, hive: `day=${p.from}` }),
    maxConcurrentRuns: 4,
  });
}

const generate = posts("fl-generate");
const mainPipeline = posts("fl-main");
const cdc = posts("fl-cdc");
for (const p of [generate, mainPipeline, cdc]) registerPipeline(p);

const step = (pipeline: string, accounts: string[], extra: Partial<FlowDefinition["steps"][string]> = {}) => ({
  pipeline,
  params: (w: { from: string; to: string }) => ({ ...w, accounts }),
  ...extra,
});

function addFlow(def: FlowDefinition): Flow {
  const flow = defineFlow(def);
  sluice.catalog.addFlow(flow);
  return flow;
}

// Seed 004: generate_data (one retry), then the main and CDC pipelines in parallel.
addFlow({
  name: "fl-daily",
  steps: {
    generate: step("fl-generate", ["301", "302"], { retries: 1 }),
    main: step("fl-main", ["303", "304"], { after: ["generate"] }),
    cdc: step("fl-cdc", ["305"], { after: ["generate"] }),
  },
  schedules: [
    { name: "daily", cron: "0 6 * * *", window: "previous-day" },
    { name: "weekly-refresh", cron: "0 2 * * 0", window: "previous-day", paused: true, fullRefresh: true },
  ],
  timeout: "3h",
  notify: { url: `${SAMPLE_ORIGIN}/sample/hooks/flow-daily`, on: ["succeeded", "failed", "step_failed"] },
});

// Seed 002: two crawlers, then processing, ETL (no automatic retry) and upload, one after another.
const chain = addFlow({
  name: "fl-chain",
  steps: {
    "crawl-a": step("fl-generate", ["311"]),
    "crawl-b": step("fl-generate", ["312"]),
    process: step("fl-main", ["313"], { after: ["crawl-a", "crawl-b"], retries: 1 }),
    etl: step("fl-main", ["314", "951"], { after: ["process"] }),
    upload: step("fl-cdc", ["315"], { after: ["etl"] }),
  },
  notify: { url: `${SAMPLE_ORIGIN}/sample/hooks/flow-chain`, on: ["succeeded", "failed", "step_failed"] },
});

// One step on two schedules: a daily one, and a weekly full refresh paused until resumed.
const scheduled = addFlow({
  name: "fl-sched",
  steps: { only: step("fl-cdc", ["341"]) },
  schedules: [
    { name: "daily", cron: "0 6 * * *", window: "previous-day" },
    { name: "weekly-refresh", cron: "0 2 * * 0", window: "previous-day", paused: true, fullRefresh: true },
  ],
  maxConcurrentRuns: 2,
});

const slow = addFlow({
  name: "fl-slow",
  steps: { first: step("fl-generate", ["321"]), second: step("fl-main", ["322"], { after: ["first"] }) },
  timeout: "300ms",
});

const DAY = { from: "2026-11-20", to: "2026-11-21" };

async function startFlow(flow: string, body: unknown = DAY): Promise<Response> {
  return api(`/v1/flows/${flow}/runs`, { method: "POST", json: body });
}

async function flowRun(flow: string, id: string): Promise<FlowRunView> {
  return (await api(`/v1/flows/${flow}/runs/${id}`)).json<FlowRunView>();
}

async function waitForFlow(flow: string, id: string, statuses = ["succeeded", "failed", "timed_out", "cancelled"]): Promise<FlowRunView> {
  return vi.waitUntil(
    async () => {
      const run = await flowRun(flow, id);
      return statuses.includes(run.status) ? run : false;
    },
    { timeout: 60_000, interval: 50 },
  );
}

const stepOf = (run: FlowRunView, name: string) => run.steps.find((s) => s.name === name)!;
const hooks = async (name: string) =>
  (await (await api(`/sample/hooks/${name}`)).json<{ received: { event: string; step?: string; run: FlowRunView }[] }>()).received;

describe("flow runs", () => {
  it("runs seed 004's daily job: generate first, then main and CDC in parallel; one run per window", async () => {
    await configureSample({});
    await api("/sample/hooks/flow-daily", { method: "DELETE" });
    const res = await startFlow("fl-daily");
    expect(res.status).toBe(202);
    const { id } = await res.json<{ id: string }>();
    expect(id).toBe("fl-daily-2026-11-20");
    const again = await startFlow("fl-daily");
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id, created: false });

    const run = await waitForFlow("fl-daily", id);
    expect(run.status).toBe("succeeded");
    const [gen, main, cdcStep] = ["generate", "main", "cdc"].map((n) => stepOf(run, n));
    expect(run.steps.map((s) => [s.name, s.status, s.attempt])).toEqual([
      ["generate", "succeeded", 1],
      ["main", "succeeded", 1],
      ["cdc", "succeeded", 1],
    ]);
    // After generate, and together: each started before the other ended.
    for (const s of [main!, cdcStep!]) expect(s.startedAt!).toBeGreaterThanOrEqual(gen!.finishedAt!);
    expect(main!.startedAt!).toBeLessThanOrEqual(cdcStep!.finishedAt!);
    expect(cdcStep!.startedAt!).toBeLessThanOrEqual(main!.finishedAt!);
    // Each step is a real run of its pipeline, for the flow's window, with its rows.
    for (const [s, accounts] of [
      [gen!, 2],
      [main!, 2],
      [cdcStep!, 1],
    ] as const) {
      expect(s.runId).toBe(`${id}-${s.name}`);
      const view = await getRun(s.runId!);
      expect(view.status).toBe("succeeded");
      expect(view.output?.rows).toBeGreaterThan(0);
      expect(view.params).toEqual({ ...DAY, accounts: expect.any(Array) });
      expect((view.params as { accounts: string[] }).accounts).toHaveLength(accounts);
    }
    const received = await vi.waitUntil(async () => {
      const r = await hooks("flow-daily");
      return r.length > 0 ? r : null;
    });
    expect(received.map((r) => [r.event, r.run.id, r.run.status])).toEqual([["succeeded", id, "succeeded"]]);

    // The dashboard draws the run as a graph: a box per step linking to its run, an arrow per edge.
    const graph = await (await api(`/flows/fl-daily/runs/${id}`)).text();
    for (const s of run.steps) expect(graph).toContain(`<a href="/runs/${s.runId}">`);
    expect(graph.match(/marker-end="url\(#arrow\)"/g)).toHaveLength(2);
    expect(await (await api("/flows")).text()).toContain(`/flows/fl-daily/runs/`);
    expect(await (await api("/flows/fl-daily")).text()).toContain(id);
    expect((await api("/flows/fl-nope")).status).toBe(404);
  });

  it("runs seed 002's chain: a failing step is retried, blocks the steps after it, and a re-run starts from it", async () => {
    await configureSample({ brokenAccounts: ["951"] }); // the ETL step's account answers 400 until the config changes
    await api("/sample/hooks/flow-chain", { method: "DELETE" });
    const { id } = await (await startFlow("fl-chain")).json<{ id: string }>();
    const failed = await waitForFlow("fl-chain", id);
    expect(failed.status).toBe("failed");
    expect(failed.reason).toBe("step etl failed");
    expect(failed.steps.map((s) => [s.name, s.status, s.attempt])).toEqual([
      ["crawl-a", "succeeded", 1],
      ["crawl-b", "succeeded", 1],
      ["process", "succeeded", 1],
      ["etl", "failed", 1], // "ETL: no automatic retry"
      ["upload", "upstream_failed", 0],
    ]);
    expect(stepOf(failed, "upload").runId).toBeNull();
    const events = await vi.waitUntil(async () => {
      const r = await hooks("flow-chain");
      return r.length >= 2 ? r : null;
    });
    expect(events.map((e) => [e.event, e.step ?? null])).toEqual([
      ["step_failed", "etl"],
      ["failed", null],
    ]);

    // Still failed: a re-run of a running flow is refused; cancel of an ended one too.
    expect((await api(`/v1/flows/fl-chain/runs/${id}/cancel`, { method: "POST" })).status).toBe(409);

    await configureSample({}); // the account is back
    const rerun = await api(`/v1/flows/fl-chain/runs/${id}/rerun`, { method: "POST" });
    expect(rerun.status).toBe(202);
    const done = await waitForFlow("fl-chain", id, ["succeeded", "failed"]);
    expect(done.status).toBe("succeeded");
    expect(done.steps.map((s) => [s.name, s.status, s.attempt, s.runId])).toEqual([
      ["crawl-a", "succeeded", 1, `${id}-crawl-a`], // not redone
      ["crawl-b", "succeeded", 1, `${id}-crawl-b`],
      ["process", "succeeded", 1, `${id}-process`],
      ["etl", "succeeded", 2, `${id}-etl-a2`],
      ["upload", "succeeded", 1, `${id}-upload`],
    ]);
    expect((await getRun(`${id}-etl`)).status).toBe("failed"); // the first attempt's run stays as it ended
    expect((await api(`/v1/flows/fl-chain/runs/${id}/rerun`, { method: "POST" })).status).toBe(409);
  });

  it("retries a step after its delay (the alarm), keeping the steps that succeeded", async () => {
    const retried = addFlow({
      name: "fl-retry",
      steps: { only: step("fl-generate", ["331", "952"], { retries: 2, retryDelay: "2s" }), after: step("fl-main", ["332"], { after: ["only"] }) },
    });
    await configureSample({ brokenAccounts: ["952"] });
    const { id } = await (await startFlow(retried.name)).json<{ id: string }>();
    const waiting = await vi.waitUntil(
      async () => {
        const run = await flowRun(retried.name, id);
        return stepOf(run, "only").status === "retrying" ? run : null;
      },
      { timeout: 60_000, interval: 20 },
    );
    expect(stepOf(waiting, "only").nextAt! - stepOf(waiting, "only").finishedAt!).toBe(2_000);
    expect(waiting.status).toBe("running");
    expect(stepOf(waiting, "after").status).toBe("waiting");
    await configureSample({}); // fixed well before the retry is due: the flow's alarm starts it
    const run = await waitForFlow(retried.name, id);
    expect(run.status).toBe("succeeded");
    expect(stepOf(run, "only")).toMatchObject({ status: "succeeded", attempt: 2, runId: `${id}-only-a2` });
  });

  it("ends a flow that runs past its timeout: its running step's run is cancelled, the next never starts", async () => {
    await configureSample({ holdRequests: true }); // the step's requests wait until released: it cannot end before the timeout
    const { id } = await (await startFlow(slow.name)).json<{ id: string }>();
    const run = await waitForFlow(slow.name, id);
    expect(run.status).toBe("timed_out");
    expect(run.reason).toMatch(/longer than its timeout/);
    expect(run.steps.map((s) => [s.name, s.status])).toEqual([
      ["first", "cancelled"],
      ["second", "cancelled"],
    ]);
    const stepRun = await vi.waitUntil(async () => {
      const v = await getRun(`${id}-first`);
      return ["cancelled", "succeeded", "failed"].includes(v.status) ? v : null;
    });
    expect(stepRun.status).toBe("cancelled");
    await configureSample({}); // releases what was held
  });

  it("cancels a running flow: its steps' runs stop and nothing after them starts", async () => {
    await configureSample({ holdRequests: true });
    const { id } = await (await startFlow("fl-daily", { from: "2026-11-22", to: "2026-11-23" })).json<{ id: string }>();
    // The first step's requests reached the upstream and are held there: it is running, and stays so.
    await vi.waitUntil(async () => (await (await api("/sample/edr/_stats")).json<{ held: number }>()).held > 0, { timeout: 30_000, interval: 20 });
    expect(stepOf(await flowRun("fl-daily", id), "generate").status).toBe("running");
    const res = await api(`/v1/flows/fl-daily/runs/${id}/cancel`, { method: "POST" });
    expect(res.status).toBe(202);
    const run = await res.json<FlowRunView>();
    expect(run.status).toBe("cancelled");
    expect(run.steps.map((s) => s.status)).toEqual(["cancelled", "cancelled", "cancelled"]);
    expect(["cancelled", "failed"]).toContain(
      (
        await vi.waitUntil(async () => {
          const v = await getRun(`${id}-generate`);
          return v.status !== "running" && v.status !== "queued" ? v : null;
        })
      ).status,
    );
    expect((await api(`/v1/flows/fl-daily/runs/${id}/cancel`, { method: "POST" })).status).toBe(409);
    expect((await (await api("/sample/edr/_release", { method: "POST" })).json<{ released: number }>()).released).toBeGreaterThan(0);
    await configureSample({});
  });

  it("fires its schedules: one run per window however often the cron fires; a paused full refresh waits for resume", async () => {
    await configureSample({});
    const at = Date.parse("2026-11-25T06:00:00Z");
    const first = await flowStub(env, scheduled.name).fire(scheduled.name, "daily", at);
    const twice = await flowStub(env, scheduled.name).fire(scheduled.name, "daily", at);
    expect(first).toEqual({ outcome: "started", runs: ["fl-sched-daily-2026-11-24"] });
    expect(twice).toEqual({ outcome: "nothing_new", runs: [] });
    const sunday = Date.parse("2026-11-29T02:00:00Z");
    expect(await flowStub(env, scheduled.name).fire(scheduled.name, "weekly-refresh", sunday)).toEqual({ outcome: "skipped_paused", runs: [] });
    const resumed = await api("/v1/flows/fl-sched/schedules/weekly-refresh/resume", { method: "POST" });
    expect(resumed.status).toBe(200);
    const refresh = await flowStub(env, scheduled.name).fire(scheduled.name, "weekly-refresh", sunday);
    expect(refresh.outcome).toBe("started");
    const run = await waitForFlow(scheduled.name, refresh.runs[0]!);
    expect(run).toMatchObject({ status: "succeeded", trigger: "schedule", schedule: "weekly-refresh", force: true });
    expect((await getRun(`${refresh.runs[0]}-only`)).options).toMatchObject({ force: true });
    await waitForFlow(scheduled.name, "fl-sched-daily-2026-11-24");
  });

  it("refuses bad input with a 4xx and starts nothing", async () => {
    const before = (await (await api("/v1/flows/fl-daily/runs?limit=100")).json<{ runs: unknown[] }>()).runs.length;
    expect((await startFlow("fl-nope")).status).toBe(404);
    const bad = await startFlow("fl-daily", { from: "2026-11-21", to: "2026-11-20" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: "invalid_body" } });
    expect((await startFlow("fl-daily", { from: "2026-02-30", to: "2026-03-01" })).status).toBe(400);
    expect((await startFlow("fl-daily", { ...DAY, extra: 1 })).status).toBe(400);
    expect((await api("/v1/flows/fl-daily/runs/Bad_Id")).status).toBe(400);
    expect((await api("/v1/flows/fl-daily/runs/fl-daily-1999-01-01")).status).toBe(404);
    expect((await api("/v1/flows/fl-daily/runs/fl-daily-1999-01-01/rerun", { method: "POST" })).status).toBe(404);
    expect((await api("/v1/flows/fl-daily/schedules/nope/pause", { method: "POST" })).status).toBe(404);
    expect((await api("/v1/flows/fl-daily/runs?status=bogus")).status).toBe(400);
    const after = (await (await api("/v1/flows/fl-daily/runs?limit=100")).json<{ runs: unknown[] }>()).runs.length;
    expect(after).toBe(before);
    const listed = await (await api("/v1/flows")).json<{ flows: { name: string; steps: { name: string; after: string[] }[] }[] }>();
    expect(listed.flows.find((f) => f.name === "fl-chain")?.steps.find((s) => s.name === "process")?.after).toEqual(["crawl-a", "crawl-b"]);
    expect(chain.steps.map((s) => s.name)).toEqual(["crawl-a", "crawl-b", "process", "etl", "upload"]);
    const doc = await (await api("/openapi.json")).json<{ paths: Record<string, Record<string, unknown>> }>();
    expect(Object.keys(doc.paths["/v1/flows/{flow}/runs"]!)).toEqual(["get", "post"]);
    expect(doc.paths["/v1/flows/{flow}/runs/{id}/rerun"]).toBeDefined();
  });
});
