// A finished run opened again (issue 15, item 4): a re-run's run timeout counts from the
// reopening, not from the run's first start, and a cancelled or timed-out run's stop marker goes
// with the stop, so consumers run its new tasks, the run ends and its pipeline's lane is free.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { layout } from "../../src/r2/layout";
import { api, configureSample, env, waitForRun } from "../helpers";

describe("a run opened again", () => {
  it("re-runs silver of a run older than its timeout, stopped once: the new tasks run and it ends succeeded", async () => {
    await configureSample({});
    const params = { stations: ["10037"], from: "2022-05-01", to: "2022-05-03", chunk: "day" };
    const res = await api("/v1/jobs", { method: "POST", json: { pipeline: "sample-weather", params, options: { timeoutMs: 600_000 } } });
    const id = ((await res.json()) as { id: string }).id;
    const first = await waitForRun(id);
    expect(first.status).toBe("succeeded");
    // As if it ran an hour ago (past its 10-minute timeout) and had been cancelled then.
    const stub = env.RUN_COORDINATOR.get(env.RUN_COORDINATOR.idFromName(id));
    await runInDurableObject(stub, async (_instance, state) => {
      state.storage.sql.exec("UPDATE run SET started_at = started_at - 3600000");
    });
    await env.BUCKET.put(layout.stopped(id), JSON.stringify({ status: "cancelled", reason: "test", at: new Date().toISOString() }));

    const lane = async () => (await (await api("/v1/pipelines/sample-weather")).json<{ state: { running: string[] } }>()).state.running;
    const rerun = await api(`/v1/jobs/${id}/phases/silver/rerun`, { method: "POST", json: {} });
    expect(rerun.status).toBe(202);
    expect(await lane()).toContain(id); // the reopened run holds its pipeline's lane while it runs…
    expect(await env.BUCKET.head(layout.stopped(id))).toBeNull();
    await runDurableObjectAlarm(stub); // the alarm that would have ended it timed_out at once
    const after = await waitForRun(id);
    expect([after.status, after.reason]).toEqual(["succeeded", null]);
    expect(after.output?.rows).toBe(first.output?.rows);
    expect(after.version).not.toBe(first.version);
    expect(await lane()).not.toContain(id); // …and frees it when it ends
  });

  it("redrives a cancelled run: the tasks the cancel cut short run, and it ends with every batch", async () => {
    await configureSample({ holdRequests: true }); // the cancel comes while every request is held
    const params = { stations: ["10074", "10111"], from: "2022-06-01", to: "2022-06-05", chunk: "day", stationsPerBatch: 1 };
    const res = await api("/v1/jobs", { method: "POST", json: { pipeline: "sample-weather", params } });
    const id = ((await res.json()) as { id: string }).id;
    expect((await api(`/v1/jobs/${id}/cancel`, { method: "POST" })).status).toBe(202);
    const cancelled = await waitForRun(id);
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.phases.ingest.cancelled).toBeGreaterThan(0);

    await configureSample({});
    const redrive = await api(`/v1/jobs/${id}/redrive`, { method: "POST" });
    expect(redrive.status).toBe(202);
    const after = await waitForRun(id);
    expect([after.status, after.generation, after.lostBatches]).toEqual(["succeeded", 2, 0]);
    expect(after.output?.rows).toBe(2 * 4 * 24);
    expect(after.published?.key).toBe(after.output?.key);
  });
});
