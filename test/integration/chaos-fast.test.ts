// The fast subset of the chaos scenarios, in workerd: every Durable Object evicted in every phase,
// every message of a finished run delivered again, two runs of one window at once. Each run's
// output is checked row for row against the upstream's own data.
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { readBoth } from "../independent-reader";
import { describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { observation } from "../../src/sample/weather-data";
import type { Phase, TaskMessage } from "../../src/types";
import { api, configureSample, env, getRun, sampleStats, submit, waitForRun } from "../helpers";

const HOUR = 3_600_000;

/** The output equals the upstream: every (station, hour) once, values equal. */
async function expectExact(runId: string, stations: string[], from: string, to: string) {
  const res = await api(`/v1/jobs/${runId}/output`);
  expect(res.status).toBe(200);
  const rows = await readBoth(new Uint8Array(await res.arrayBuffer()));
  const hours = (Date.parse(to) - Date.parse(from)) / HOUR;
  expect(rows).toHaveLength(stations.length * hours);
  const keys = new Set(rows.map((r) => `${String(r.station_id)}|${(r.observed_at as Date).getTime()}`));
  expect(keys.size).toBe(rows.length);
  for (const s of stations) for (let t = Date.parse(from); t < Date.parse(to); t += HOUR) expect(keys.has(`${s}|${t}`)).toBe(true);
  for (const r of rows) {
    const at = (r.observed_at as Date).getTime();
    expect(r.temperature).toBe(observation(String(r.station_id), at, "temperature"));
    expect(r.pressure).toBe(observation(String(r.station_id), at, "pressure"));
  }
}

describe("chaos, fast subset", () => {
  it("aborts every Durable Object in every phase (in-flight calls fail), and the run still ends exact", async () => {
    await configureSample({ holdRequests: true }); // ingest cannot end before the abort below lets the upstream answer
    const stations = ["10000", "10037", "10074"];
    const params = { stations, from: "2020-05-01", to: "2020-05-07", chunk: "day", stationsPerBatch: 1 };
    const id = await submit("sample-weather", params);
    const seen = new Set<Phase | null>();
    await vi.waitUntil(
      async () => {
        const run = await getRun(id);
        if (!seen.has(run.phase)) {
          seen.add(run.phase);
          // Every instance reset, storage kept: like a crash of each object.
          await abortAllDurableObjects();
          if (run.phase === "ingest") await configureSample({}); // then the upstream answers
        }
        return !["queued", "running"].includes(run.status);
      },
      { timeout: 90_000, interval: 10 },
    );
    expect([...seen]).toEqual(expect.arrayContaining(["ingest", "refine", "silver", "aggregate"]));
    expect((await getRun(id)).status).toBe("succeeded");
    await expectExact(id, stations, params.from, params.to);
  });

  it("delivers every message of a finished run again: nothing is redone or duplicated", async () => {
    await configureSample({});
    const stations = ["10111", "10148"];
    const params = { stations, from: "2020-06-01", to: "2020-06-04", chunk: "day", stationsPerBatch: 1 };
    const id = await submit("sample-weather", params);
    const run = await waitForRun(id);
    const before = await sampleStats();
    const tasks = await (await api(`/v1/jobs/${id}/tasks?limit=1000`)).json<{ tasks: { id: string; phase: Phase; group: string }[] }>();
    const messages: TaskMessage[] = [];
    for (const t of tasks.tasks) {
      const manifest = await (await env.BUCKET.get(`runs/${id}/tasks/${t.id}.json`))!.json<{ input: TaskMessage["input"] }>();
      messages.push({
        v: 1,
        runId: id,
        pipeline: "sample-weather",
        taskId: t.id,
        phase: t.phase,
        group: t.group,
        maxAttempts: 5,
        version: { window: "2020-06-01_2020-06-04", hive: "window=2020-06-01_2020-06-04", n: Number(run.version!.split("_v")[1]) },
        input: manifest.input,
      });
    }
    // Out of order, twice each.
    const shuffled = [...messages, ...messages].reverse();
    const acked: string[] = [];
    const batch = {
      queue: "sluice-tasks",
      messages: shuffled.map((body, i) => ({
        id: `r${i}`,
        timestamp: new Date(),
        attempts: 2,
        body,
        ack: () => void acked.push(`r${i}`),
        retry: () => undefined,
      })),
      ackAll: () => undefined,
      retryAll: () => undefined,
    } as unknown as MessageBatch<unknown>;
    await worker.queue(batch, env);
    expect(acked).toHaveLength(shuffled.length);
    expect((await sampleStats()).requests).toBe(before.requests);
    const after = await getRun(id);
    expect(after.output).toEqual(run.output);
    expect(after.progress).toEqual(run.progress);
    await expectExact(id, stations, params.from, params.to);
  });

  it("runs two backfills of the same window at once; both outputs are exact", async () => {
    await configureSample({ holdRequests: true }); // neither run ends before both have started
    const body = {
      from: "2020-07-01",
      to: "2020-08-01",
      window: "month",
      params: { stations: ["10185", "10222"], chunk: "day", stationsPerBatch: 1 },
      max_parallel: 1,
    };
    const [a, b] = await Promise.all(
      [1, 2].map(async () => (await api("/v1/pipelines/sample-weather/backfill", { method: "POST", json: body })).json<{ windows: { runId: string }[] }>()),
    );
    const ids = [a!.windows[0]!.runId, b!.windows[0]!.runId];
    await vi.waitUntil(async () => (await Promise.all(ids.map(getRun))).every((r) => r.status === "running"), { timeout: 30_000, interval: 20 });
    await configureSample({}); // answers what was held
    const runs = await Promise.all(ids.map((id) => waitForRun(id)));
    expect(runs.map((r) => r.status)).toEqual(["succeeded", "succeeded"]);
    expect(runs[1]!.startedAt!).toBeLessThan(runs[0]!.finishedAt!);
    for (const id of ids) await expectExact(id, ["10185", "10222"], "2020-07-01", "2020-08-01");
    // Each partition was downloaded at most twice (once per run at worst), never stored twice.
    expect((await sampleStats()).requests).toBeLessThanOrEqual(2 * 2 * 31);
  });

  it("settles a run whose process died after its end was stored but before its manifest was written", async () => {
    await configureSample({});
    const params = { stations: ["10259"], from: "2020-09-01", to: "2020-09-03", chunk: "day" };
    const id = await submit("sample-weather", params);
    expect((await waitForRun(id)).status).toBe("succeeded");
    const key = `runs/${id}/manifest.json`;
    const written = await (await env.BUCKET.get(key))!.json<{ status: string; output: unknown }>();
    // What finish() leaves if the process dies right after its first turn: the end and an alarm
    // stored, the manifest not yet in R2.
    await env.BUCKET.delete(key);
    const stub = env.RUN_COORDINATOR.get(env.RUN_COORDINATOR.idFromName(id));
    await runInDurableObject(stub, async (_instance, state) => {
      state.storage.sql.exec("UPDATE run SET settled = 0");
      await state.storage.setAlarm(Date.now());
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const rewritten = await (await env.BUCKET.get(key))!.json<{ status: string; output: unknown }>();
    expect(rewritten).toMatchObject({ status: "succeeded", output: written.output });
    const settled = await runInDurableObject(stub, async (_instance, state) => ({
      settled: state.storage.sql.exec("SELECT settled FROM run").one().settled,
      alarm: await state.storage.getAlarm(),
    }));
    expect(settled).toEqual({ settled: 1, alarm: null });
  });

  it("rides out bursts of injected 429s with and without Retry-After: exact output, no real violation", async () => {
    await configureSample({ faultRate: 0.3, faultKinds: ["429", "429-bare"], burst429: 3, seed: 5 });
    const stations = ["10296", "10333"];
    const params = { stations, from: "2020-10-01", to: "2020-10-08", chunk: "day", stationsPerBatch: 1 };
    const id = await submit("sample-weather", params);
    const run = await waitForRun(id);
    expect(run.status).toBe("succeeded");
    const stats = await sampleStats();
    expect(stats.byStatus["429"]).toBeGreaterThan(0);
    expect(stats.violations).toBe(0);
    await expectExact(id, stations, params.from, params.to);
  });

  it("moves on from a phase whose last report was stored when the process died during its transition", async () => {
    await configureSample({});
    const params = { stations: ["10370"], from: "2020-11-01", to: "2020-11-03", chunk: "day" };
    const id = await submit("sample-weather", params);
    const done = await waitForRun(id);
    expect(done.status).toBe("succeeded");
    // The state a kill during the aggregate's writes leaves: every merge succeeded, the run not moved on.
    const stub = env.RUN_COORDINATOR.get(env.RUN_COORDINATOR.idFromName(id));
    await runInDurableObject(stub, async (_instance, state) => {
      state.storage.sql.exec("UPDATE run SET status = 'running', phase = 'aggregate', output = NULL, quality = NULL, finished_at = NULL, settled = 1");
      state.storage.sql.exec("UPDATE phases SET finished_at = NULL WHERE phase = 'quality'");
      await state.storage.setAlarm(Date.now());
    });
    expect((await getRun(id)).status).toBe("running");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const resumed = await getRun(id);
    expect(resumed.status).toBe("succeeded");
    expect(resumed.output).toEqual(done.output);
    await expectExact(id, params.stations, params.from, params.to);
  });
});
