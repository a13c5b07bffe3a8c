// Submit and planning are atomic (issue 15, item 6): a reset in the middle of a streamed plan
// leaves a run that plans again from the start before it begins, never one that runs part of its
// input; a start that fails twice ends the run failed, with its reason, out of the lane.
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { registerPipeline } from "../helpers";
import { definePipeline } from "../../src/pipelines/define";
import { SAMPLE_ORIGIN } from "../../src/upstream/fetch";
import { POSTS } from "../limits-pipelines";
import { api, configureSample, env, getRun, waitForRun } from "../helpers";

const BATCHES = 520; // the coordinator stores a plan 500 batches per transaction
const gate = (tag: string) => `inputs/plan-gate-${tag}`;

// A streamed plan that stops after 510 batches until its gate object is in R2: a reset lands there.
registerPipeline(
  definePipeline({
    name: "gated-plan",
    description: "a plan that waits for a gate part way, for a reset to land in",
    params: z.object({ tag: z.string() }).strict(),
    source: { name: "gated-plan-api", baseUrl: `${SAMPLE_ORIGIN}/sample/social`, rateLimit: [{ requests: 100, per: "1s" }], concurrency: 4, timeoutMs: 10_000 },
    async *planStream(params, ctx) {
      for (let i = 0; i < BATCHES; i++) {
        if (i === 510) while (!(await ctx.bucket.head(gate(params.tag)))) await scheduler.wait(5);
        yield { partition: `posts/${params.tag}/n=${i}`, data: { account: String(1000 + i) } };
      }
    },
    request: (batch, source) => ({ url: `${source.baseUrl}/accounts/${String(batch.data.account)}/posts?limit=100` }),
    ...POSTS,
    window: (p) => ({ name: p.tag, hive: `tag=${p.tag}` }),
  }),
);

// A plan that fails part way (its list holds a bad line) for tag "bad"; two batches otherwise.
registerPipeline(
  definePipeline({
    name: "failing-plan",
    description: "a plan that throws after 600 batches",
    params: z.object({ tag: z.string() }).strict(),
    source: {
      name: "failing-plan-api",
      baseUrl: `${SAMPLE_ORIGIN}/sample/social`,
      rateLimit: [{ requests: 100, per: "1s" }],
      concurrency: 4,
      timeoutMs: 10_000,
    },
    async *planStream(params) {
      for (let i = 0; i < (params.tag === "bad" ? 700 : 2); i++) {
        if (i === 600) throw new Error("line 601 is not an account id");
        yield { partition: `posts/${params.tag}/n=${i}`, data: { account: String(2000 + i) } };
      }
    },
    request: (batch, source) => ({ url: `${source.baseUrl}/accounts/${String(batch.data.account)}/posts?limit=100` }),
    ...POSTS,
    window: (p) => ({ name: p.tag, hive: `tag=${p.tag}` }),
  }),
);

const registry = () => env.PIPELINE_REGISTRY.get(env.PIPELINE_REGISTRY.idFromName("gated-plan"));
const coordinator = (id: string) => env.RUN_COORDINATOR.get(env.RUN_COORDINATOR.idFromName(id));

describe("atomic planning", () => {
  it("a reset mid-plan: the run plans again from the start and begins with all of its batches", async () => {
    await configureSample({});
    const tag = `g${crypto.randomUUID().slice(0, 6)}`;
    const submitted = api("/v1/jobs", { method: "POST", json: { pipeline: "gated-plan", params: { tag } } }).then(
      (r) => r.status,
      () => "aborted",
    );

    // The run is in the registry and 500 of its batches are stored when the reset comes.
    let id = "";
    await vi.waitUntil(
      async () => {
        id = await runInDurableObject(registry(), (_i, state) =>
          state.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'runs'").toArray().length > 0
            ? String(state.storage.sql.exec("SELECT id FROM runs").toArray()[0]?.id ?? "")
            : "",
        );
        if (!id) return false;
        return runInDurableObject(coordinator(id), (_i, state) => {
          const ready = state.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'batches'").toArray().length > 0;
          return ready && Number(state.storage.sql.exec("SELECT count(*) AS n FROM batches").one().n) >= 500;
        });
      },
      { timeout: 20_000, interval: 20 },
    );
    await abortAllDurableObjects();
    expect(await submitted).not.toBe(202); // the submit was cut short with the plan
    const cut = await getRun(id);
    expect([cut.status, cut.batches]).toEqual(["queued", 500]); // part of the plan, not begun

    // Its alarm plans again (the gate open now) and tells the registry, which begins it.
    await env.BUCKET.put(gate(tag), "open");
    expect(await runDurableObjectAlarm(coordinator(id))).toBe(true);
    const begun = await getRun(id);
    expect([begun.status, begun.batches]).toEqual(["running", BATCHES]);
    expect(begun.phases.ingest.total).toBe(BATCHES);
    expect((await api(`/v1/jobs/${id}/cancel`, { method: "POST" })).status).toBe(202);
  });

  it("a plan that fails part way ends the run failed with its reason, and the pipeline's lane is free for the next", async () => {
    await configureSample({});
    const bad = await (await api("/v1/jobs", { method: "POST", json: { pipeline: "failing-plan", params: { tag: "bad" } } })).json<{ id: string }>();
    const failed = await getRun(bad.id);
    expect([failed.status, failed.reason, failed.phases.ingest.total]).toEqual(["failed", "planning failed: line 601 is not an account id", 0]);
    const good = await (await api("/v1/jobs", { method: "POST", json: { pipeline: "failing-plan", params: { tag: "good" } } })).json<{ id: string }>();
    expect((await waitForRun(good.id)).status).toBe("succeeded");
  });
});
