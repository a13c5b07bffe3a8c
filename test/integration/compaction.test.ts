// The scheduled compaction: a month of small daily outputs merged into one file, again as a new
// version when a run of the month ends after it (issue 15, item 10).
import { createScheduledController } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { registryStub } from "../../durable-objects/rpc/registry";
import { configureSample, env, getRun, waitForRun } from "../helpers";

describe("compaction", () => {
  it("merges the previous month's daily outputs into one file of its own dataset, once", async () => {
    await configureSample({});
    const registry = registryStub(env, "sample-weather");
    const days = ["2027-03-01", "2027-03-02", "2027-03-03"];
    for (const from of days) {
      const to = `2027-03-0${Number(from.slice(-1)) + 1}`;
      const runId = `sample-weather-daily-${from}`;
      await registry.submit("sample-weather", {
        runId,
        params: { stations: ["10000", "10037"], from, to, chunk: "day" },
        options: {},
        lane: "main",
        trigger: "schedule",
        schedule: "daily",
        window: { from, to },
      });
      expect((await waitForRun(runId)).status).toBe("succeeded");
    }
    const fire = () => worker.scheduled(createScheduledController({ cron: "30 6 1 * *", scheduledTime: new Date("2027-04-01T06:30:00Z") }), env);
    await fire();
    const run = await waitForRun("sample-weather-compact-monthly-2027-03");
    expect(run.status).toBe("succeeded");
    expect(run.output?.rows).toBe(3 * 2 * 24);
    expect(run.output?.key).toBe(`gold/dataset=sample-weather-monthly/year=2027/month=03/version=${run.version}/part-00000.parquet`);
    const n = run.version!.split("_v")[1];
    const manifest = await (await env.BUCKET.get(`runs/${run.id}/aggregate-v${n}.json`))!.json<{ inputs: { key: string }[]; totalRows: number }>();
    expect(manifest.inputs.map((i) => i.key.match(/day=(\d+)/)?.[1])).toEqual(["01", "02", "03"]);
    expect(manifest.totalRows).toBe(144);
    expect(await env.BUCKET.head(`${run.output!.key}.done`)).not.toBeNull();

    await fire();
    expect((await getRun("sample-weather-compact-monthly-2027-03")).generation).toBe(1);
    const state = await registry.state("sample-weather");
    expect(state.firings[0]).toMatchObject({ schedule: "compact:monthly", outcome: "nothing_new" });

    // A daily run of the month that ends after its compaction (catch-up, a redrive, a slow day):
    // the month is compacted again, as a new version holding the late day too.
    const late = "sample-weather-daily-2027-03-04";
    await registry.submit("sample-weather", {
      runId: late,
      params: { stations: ["10000", "10037"], from: "2027-03-04", to: "2027-03-05", chunk: "day" },
      options: {},
      lane: "main",
      trigger: "schedule",
      schedule: "daily",
      window: { from: "2027-03-04", to: "2027-03-05" },
    });
    expect((await waitForRun(late)).status).toBe("succeeded");
    const again = await waitForRun("sample-weather-compact-monthly-2027-03-r2");
    expect([again.status, again.output?.rows]).toEqual(["succeeded", 4 * 2 * 24]);
    expect(again.version).not.toBe(run.version);
    const m = again.version!.split("_v")[1];
    const inputs = await (await env.BUCKET.get(`runs/${again.id}/aggregate-v${m}.json`))!.json<{ inputs: { key: string }[] }>();
    expect(inputs.inputs.map((i) => i.key.match(/day=(\d+)/)?.[1])).toEqual(["01", "02", "03", "04"]);
    expect(await env.BUCKET.head(`${run.output!.key}.published`)).not.toBeNull(); // the first version stays where it was
    await fire();
    expect((await registry.state("sample-weather")).firings[0]).toMatchObject({ schedule: "compact:monthly", outcome: "nothing_new" });
  });

  it("the quality sweep re-checks recent runs without touching their data", async () => {
    const before = await getRun("sample-weather-daily-2027-03-01");
    await worker.scheduled(createScheduledController({ cron: "0 12 * * *", scheduledTime: new Date(Date.now()) }), env);
    const after = await waitForRun("sample-weather-daily-2027-03-01");
    expect(after.status).toBe("succeeded");
    expect(after.generation).toBe(before.generation + 1);
    expect(after.output).toEqual(before.output);
  });
});
