// Pipelines that depend on each other (issue 17, item 2): a pipeline triggered by data runs a
// window once every pipeline it waits on has succeeded for that window — scheduled, caught up or
// backfilled — with an id from the trigger and the window, so repeated deliveries make one run;
// a window an upstream has not delivered waits, and says which upstream it waits for. Seed 004's
// shape: generate, then two pipelines in parallel after it, then one after both.
import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { Catalog } from "../../src/catalog";
import { definePipeline, type Pipeline } from "../../src/pipelines/define";
import type { Trigger } from "../../src/pipelines/schedule";
import { registryStub } from "../../durable-objects/rpc/registry";
import { api, configureSample, env, getRun, registerPipeline, waitForRun } from "../helpers";
import { POSTS, accountItems, socialSource } from "../limits-pipelines";

/** Two accounts' posts for a day; a daily schedule (fired by hand here) and any triggers. */
function daily(name: string, triggers: Trigger[] = [], account = "901"): Pipeline {
  return definePipeline({
    name,
    description: `posts for a day (${name})`,
    params: z.object({ from: z.string(), to: z.string() }).strict(),
    source: socialSource("triggers-api", 8),
    *plan(params) {
      yield { partition: `posts/${name}/day=${params.from}`, data: { accounts: [account, "902"] } };
    },
    items: accountItems,
    ...POSTS,
    maxAttempts: 1,
    retryPasses: 0,
    window: (p) => ({ name: p.from, hive: `day=${p.from}` }),
    schedules: [{ name: "daily", cron: "45 5 * * *", window: "previous-day", params: (w) => w }],
    triggers,
  });
}

const after = (name: string, upstreams: string[]): Trigger => ({ name, after: upstreams, params: (w) => w });
const generate = daily("dt-generate");
const left = daily("dt-left", [after("after-generate", ["dt-generate"])]);
const right = daily("dt-right", [after("after-generate", ["dt-generate"])]);
const report = daily("dt-report", [after("after-both", ["dt-left", "dt-right"])]);
for (const p of [generate, left, right, report]) registerPipeline(p);

const fire = (pipeline: string, day: string) => registryStub(env, pipeline).fire(pipeline, "daily", Date.parse(`${day}T05:45:00Z`));
const triggerState = async (pipeline: string) =>
  (
    await (
      await api(`/v1/pipelines/${pipeline}`)
    ).json<{
      state: {
        triggers: { name: string; windows: { window: { from: string }; delivered: string[]; awaited: string[]; runId: string | null; status: string }[] }[];
      };
    }>()
  ).state.triggers[0]!;

describe("triggers on data", () => {
  it("runs generate, then left and right in parallel, then report after both — each window once", async () => {
    await configureSample({});
    await fire("dt-generate", "2026-06-02");
    expect((await waitForRun("dt-generate-daily-2026-06-01")).status).toBe("succeeded");
    const [l, r] = await Promise.all([waitForRun("dt-left-after-generate-2026-06-01"), waitForRun("dt-right-after-generate-2026-06-01")]);
    expect([l.status, r.status]).toEqual(["succeeded", "succeeded"]);
    const g = await getRun("dt-generate-daily-2026-06-01");
    expect(l.createdAt).toBeGreaterThanOrEqual(g.finishedAt!);
    const rep = await waitForRun("dt-report-after-both-2026-06-01");
    expect(rep.status).toBe("succeeded");
    expect(rep.createdAt).toBeGreaterThanOrEqual(Math.max(l.finishedAt!, r.finishedAt!));
    expect(rep.params).toEqual({ from: "2026-06-01", to: "2026-06-02" });
    const state = await triggerState("dt-report");
    expect(state.windows).toEqual([
      {
        window: { from: "2026-06-01", to: "2026-06-02" },
        delivered: ["dt-left", "dt-right"],
        awaited: [],
        runId: "dt-report-after-both-2026-06-01",
        status: "succeeded",
      },
    ]);
  });

  it("waits for the upstream that has not delivered, shown as such, and starts when it does", async () => {
    await configureSample({});
    // left alone delivers 06-10 (fired directly): report waits for right.
    await fire("dt-left", "2026-06-11");
    expect((await waitForRun("dt-left-daily-2026-06-10")).status).toBe("succeeded");
    await vi.waitUntil(async () => (await triggerState("dt-report")).windows.some((w) => w.window.from === "2026-06-10"), { timeout: 10_000, interval: 50 });
    expect((await triggerState("dt-report")).windows.find((w) => w.window.from === "2026-06-10")).toMatchObject({
      delivered: ["dt-left"],
      awaited: ["dt-right"],
      runId: null,
      status: "waiting",
    });
    expect((await api("/v1/jobs/dt-report-after-both-2026-06-10")).status).toBe(404);

    // right fails 06-10 first: still waiting. Then it succeeds (a manual re-run would do the same).
    await configureSample({ faultRate: 1, faultKinds: ["5xx"] });
    await fire("dt-right", "2026-06-11");
    expect((await waitForRun("dt-right-daily-2026-06-10")).status).toBe("failed");
    expect((await triggerState("dt-report")).windows.find((w) => w.window.from === "2026-06-10")!.awaited).toEqual(["dt-right"]);
    await configureSample({});
    await fire("dt-right", "2026-06-11"); // catch-up tries the failed window again
    expect((await waitForRun("dt-right-daily-2026-06-10-a2")).status).toBe("succeeded");
    expect((await waitForRun("dt-report-after-both-2026-06-10")).status).toBe("succeeded");

    // Delivered again (left fired again for the same day starts nothing new; a re-delivery is idempotent).
    await registryStub(env, "dt-report").delivered("dt-report", "after-both", "dt-left", { from: "2026-06-10", to: "2026-06-11" }, "dt-left-daily-2026-06-10");
    const runs = await (await api("/v1/jobs?pipeline=dt-report")).json<{ runs: { id: string }[] }>();
    expect(runs.runs.filter((r) => r.id.startsWith("dt-report-after-both-2026-06-10"))).toHaveLength(1);
  });

  it("holds a trigger while its pipeline is paused, and starts it on resume", async () => {
    await configureSample({});
    await api("/v1/pipelines/dt-left/pause", { method: "POST" });
    await fire("dt-generate", "2026-06-03"); // the day after the first test's: no catch-up
    expect((await waitForRun("dt-generate-daily-2026-06-02")).status).toBe("succeeded");
    expect((await waitForRun("dt-right-after-generate-2026-06-02")).status).toBe("succeeded");
    const left = async () => (await triggerState("dt-left")).windows.find((w) => w.window.from === "2026-06-02");
    expect(await left()).toMatchObject({ delivered: ["dt-generate"], awaited: [], runId: null, status: "ready" });
    await api("/v1/pipelines/dt-left/resume", { method: "POST" });
    expect((await waitForRun("dt-left-after-generate-2026-06-02")).status).toBe("succeeded");
    expect((await waitForRun("dt-report-after-both-2026-06-02")).status).toBe("succeeded");
  });

  it("triggers once per window of an upstream backfill", async () => {
    await configureSample({});
    const res = await api("/v1/pipelines/dt-generate/backfill", { method: "POST", json: { from: "2026-07-01", to: "2026-07-04", window: "day", params: {} } });
    expect(res.status).toBe(202);
    for (const day of ["2026-07-01", "2026-07-02", "2026-07-03"]) {
      expect((await waitForRun(`dt-report-after-both-${day}`, 120_000)).status).toBe("succeeded");
    }
  });

  it("refuses a trigger on a pipeline the catalog does not have, and a cycle", () => {
    expect(() => new Catalog([daily("dt-orphan", [after("t", ["dt-nowhere"])])])).toThrow(
      "pipeline dt-orphan, trigger t: no pipeline named dt-nowhere in the catalog",
    );
    expect(() => new Catalog([daily("dt-a", [after("t", ["dt-b"])]), daily("dt-b", [after("t", ["dt-a"])])])).toThrow(/waits on itself through its triggers/);
  });
});
