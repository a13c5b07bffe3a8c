// Retry passes, the dead list, the tolerated failure share, redrive, and a faulty upstream.
import { limiterStub } from "../../durable-objects/rpc/limiter";
import { readBoth } from "../independent-reader";
import { describe, expect, it } from "vitest";
import type { TaskView } from "../../src/types";
import { api, configureSample, env, sampleStats, submit, waitForRun } from "../helpers";

const DAY = 24;

async function tasks(id: string, query: string): Promise<TaskView[]> {
  return (await (await api(`/v1/jobs/${id}/tasks?${query}&limit=1000`)).json<{ tasks: TaskView[] }>()).tasks;
}

async function outputRows(id: string) {
  const res = await api(`/v1/jobs/${id}/output`);
  expect(res.status).toBe(200);
  return readBoth(new Uint8Array(await res.arrayBuffer()));
}

describe("retry passes and redrive", () => {
  it("re-plans only the failed tasks pass after pass, ends partial within the tolerated share, and a redrive completes it", async () => {
    await configureSample({ failingStations: ["10037"] });
    const params = { stations: ["10000", "10037", "10074"], from: "2024-06-01", to: "2024-06-03", chunk: "day", stationsPerBatch: 1 };
    const res = await api("/v1/jobs", {
      method: "POST",
      json: { pipeline: "sample-weather", params, options: { maxAttempts: 1, retryPasses: 2, toleratedFailurePercent: 50 } },
    });
    const { id } = await res.json<{ id: string }>();
    const run = await waitForRun(id);
    expect(run.status).toBe("partial");
    expect(run.lostBatches).toBe(2);
    expect(run.output?.rows).toBe(4 * DAY);

    const ingest = await tasks(id, "phase=ingest");
    const groups = ingest.filter((t) => t.id.includes("b000001") || t.id.includes("b000004")).map((t) => `${t.id}:${t.group}:${t.status}`);
    expect(groups.sort()).toEqual([
      "ingest-b000001-retry-1:retry-1:failed",
      "ingest-b000001-retry-2:retry-2:failed",
      "ingest-b000001:initial:failed",
      "ingest-b000004-retry-1:retry-1:failed",
      "ingest-b000004-retry-2:retry-2:failed",
      "ingest-b000004:initial:failed",
    ]);
    expect(ingest.filter((t) => t.group !== "initial")).toHaveLength(4); // only the failed ones were re-planned
    const retry1 = await (await env.BUCKET.get(`runs/${id}/retries/ingest-retry-1.json`))!.json<{
      failedTaskIds: string[];
      errorTypes: Record<string, number>;
      tasksLaunched: string[];
    }>();
    expect(retry1.failedTaskIds.sort()).toEqual(["ingest-b000001", "ingest-b000004"]);
    expect(retry1.errorTypes).toEqual({ upstream_5xx: 2 });
    expect(retry1.tasksLaunched.sort()).toEqual(["ingest-b000001-retry-1", "ingest-b000004-retry-1"]);
    const manifest = await (await api(`/v1/jobs/${id}/manifest`)).json<{ failed: { taskId: string }[]; dead: unknown[] }>();
    expect(manifest.failed.map((f) => f.taskId).sort()).toEqual(["ingest-b000001-retry-2", "ingest-b000004-retry-2"]);
    expect(manifest.dead).toEqual([]);
    const firstOutput = run.output!;

    await configureSample({});
    const redrive = await api(`/v1/jobs/${id}/redrive`, { method: "POST" });
    expect(redrive.status).toBe(202);
    expect(await redrive.json()).toMatchObject({ tasks: 2, generation: 2 });
    const again = await waitForRun(id);
    expect(again.status).toBe("succeeded");
    expect(again.generation).toBe(2);
    expect(again.output?.rows).toBe(6 * DAY);
    expect(again.output?.key).not.toBe(firstOutput.key);
    const rows = await outputRows(id);
    expect(new Set(rows.map((r) => r.station_id))).toEqual(new Set(params.stations));
    expect(new Set(rows.map((r) => `${String(r.station_id)}|${(r.observed_at as Date).getTime()}`)).size).toBe(6 * DAY);
    // The first generation's output is still there, untouched.
    expect((await env.BUCKET.head(firstOutput.key))?.size).toBe(firstOutput.bytes);
    // Only the two failed batches were downloaded again.
    expect((await sampleStats()).requests).toBe(2);
  });

  it("fails the run, without aggregating, when more batches fail than tolerated", async () => {
    await configureSample({ failingStations: ["10111"] });
    const params = { stations: ["10111", "10148"], from: "2024-06-01", to: "2024-06-02", chunk: "day", stationsPerBatch: 1 };
    const { id } = await (
      await api("/v1/jobs", {
        method: "POST",
        json: { pipeline: "sample-weather", params, options: { maxAttempts: 1, retryPasses: 1, toleratedFailurePercent: 10 } },
      })
    ).json<{ id: string }>();
    const run = await waitForRun(id);
    expect(run.status).toBe("failed");
    expect(run.reason).toMatch(/1 of 2 batches failed \(50\.0%\), over the tolerated 10%/);
    expect(run.output).toBeNull();
    expect(run.phases.aggregate.total).toBe(0);
    expect((await api(`/v1/jobs/${id}/output`)).status).toBe(409);
  });

  it("sends deleted stations to the dead list, never retries them, and has nothing to redrive", async () => {
    await configureSample({ deletedStations: ["10185"] });
    const params = { stations: ["10185", "10222"], from: "2024-06-01", to: "2024-06-03", chunk: "day", stationsPerBatch: 1 };
    const { id } = await (
      await api("/v1/jobs", { method: "POST", json: { pipeline: "sample-weather", params, options: { toleratedFailurePercent: 50 } } })
    ).json<{ id: string }>();
    const run = await waitForRun(id);
    expect(run.status).toBe("partial");
    const dead = await tasks(id, "status=dead");
    expect(dead.map((t) => t.id).sort()).toEqual(["ingest-b000000", "ingest-b000002"]);
    expect(dead.every((t) => t.attempts === 1 && t.error?.status === 404)).toBe(true);
    expect((await tasks(id, "phase=ingest")).every((t) => t.group === "initial")).toBe(true);
    expect((await sampleStats()).byStatus["404"]).toBe(2);
    const redrive = await api(`/v1/jobs/${id}/redrive`, { method: "POST" });
    expect(redrive.status).toBe(409);
    expect(await redrive.json()).toMatchObject({ error: { code: "nothing_to_redrive" } });
  });
});

describe("a run against a faulty, rate-limited upstream", () => {
  it("ends partial with exactly the live stations' rows, the deleted stations dead, and 0 limit violations", async () => {
    await configureSample({
      perSecond: 50,
      burst: 50,
      perHour: 100_000,
      faultRate: 0.2,
      faultKinds: ["5xx", "timeout", "truncate"],
      hangMs: 100,
      deletedStations: ["10259", "10296"],
      seed: 42,
    });
    const stations = ["10000", "10037", "10074", "10111", "10259", "10296"];
    const params = { stations, from: "2024-02-01", to: "2024-02-08", chunk: "day", stationsPerBatch: 1 };
    const { id } = await (
      await api("/v1/jobs", { method: "POST", json: { pipeline: "sample-weather", params, options: { toleratedFailurePercent: 40 } } })
    ).json<{ id: string }>();
    const run = await waitForRun(id, 110_000);
    expect(run.status).toBe("partial");
    expect(run.batches).toBe(6 * 7);

    const dead = await tasks(id, "status=dead");
    expect(dead).toHaveLength(2 * 7);
    const deadStations = new Set(dead.map((t) => t.error?.message.match(/locations\/(\d+)/)?.[1]));
    expect(deadStations).toEqual(new Set(["10259", "10296"]));

    const rows = await outputRows(id);
    expect(rows).toHaveLength(4 * 7 * DAY);
    expect(new Set(rows.map((r) => r.station_id))).toEqual(new Set(stations.slice(0, 4)));
    expect(new Set(rows.map((r) => `${String(r.station_id)}|${(r.observed_at as Date).getTime()}`)).size).toBe(rows.length);

    const stats = await sampleStats();
    const all = await tasks(id, "phase=ingest");
    console.log(
      `fault run ${id}: ${run.status}, ${rows.length} rows, ${dead.length} dead, ${all.filter((t) => t.group !== "initial").length} retry-pass tasks, ingest attempts ${all.reduce((n, t) => n + t.attempts, 0)} for ${run.batches} batches; upstream ${JSON.stringify(stats)}`,
    );
    expect(stats.violations).toBe(0);
    expect(Object.values((stats as unknown as { faults: Record<string, number> }).faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});

describe("what a consumer could not deliver", () => {
  it("records a dead-lettered task as failed, and a retry pass runs it again", async () => {
    await configureSample({ holdRequests: true }); // the task is still running when its dead letter comes
    const { default: worker } = await import("../../src/index");
    const id = await submit("sample-weather", { stations: ["10333"], from: "2024-08-01", to: "2024-08-02", chunk: "day" });
    const body = {
      v: 1,
      runId: id,
      pipeline: "sample-weather",
      taskId: "ingest-b000000",
      phase: "ingest",
      group: "initial",
      maxAttempts: 5,
      version: { window: "2024-08-01", hive: "year=2024/month=08/day=01", n: 1 },
      input: {
        kind: "ingest",
        batch: {
          id: "b000000",
          partition: "hourly/stations=10333/start=2024-08-01/end=2024-08-02",
          data: { stations: ["10333"], start: "2024-08-01", end: "2024-08-02" },
        },
      },
    };
    const acks: string[] = [];
    const message = { id: "d0", timestamp: new Date(), attempts: 11, body, ack: () => void acks.push("d0"), retry: () => undefined };
    await worker.queue(
      { queue: "sluice-tasks-dlq", messages: [message], ackAll: () => undefined, retryAll: () => undefined } as unknown as MessageBatch<unknown>,
      env,
    );
    expect(acks).toEqual(["d0"]);
    await configureSample({});
    const run = await waitForRun(id);
    expect(run.status).toBe("succeeded");
    const ingest = await tasks(id, "phase=ingest");
    expect(ingest.map((t) => `${t.id}:${t.status}:${t.error?.type ?? ""}`)).toEqual([
      "ingest-b000000:failed:delivery_exhausted",
      "ingest-b000000-retry-1:succeeded:",
    ]);
  });

  it("backs off after 429s from an upstream stricter than declared, and still finishes", async () => {
    await configureSample({ perSecond: 4, burst: 2 });
    const id = await submit("sample-weather", {
      stations: ["10000", "10037", "10074", "10111"],
      from: "2024-09-01",
      to: "2024-09-04",
      chunk: "day",
      stationsPerBatch: 1,
    });
    const run = await waitForRun(id);
    expect(run.status).toBe("succeeded");
    const stats = await sampleStats();
    expect(stats.violations).toBeGreaterThan(0);
    const limiter = await limiterStub(env, "sample-edr").snapshot();
    expect(limiter.factor).toBeLessThan(1); // it learned the stricter limit from the 429s
    expect(limiter.inFlight).toBe(0);
  });
});
