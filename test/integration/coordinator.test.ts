// The run coordinator: planning, the phase state machine, eviction, duplicate reports.
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { expectedTasks, planMergeLevel } from "../../durable-objects/coordinator/planning";
import { sampleWeather } from "../../src/pipelines/sample-weather";
import { coordinatorStub } from "../../durable-objects/rpc/coordinator";
import type { OutputFile } from "../../src/types";
import { api, configureSample, env, getRun, submit, waitForRun } from "../helpers";

describe("planning", () => {
  it("plans the seeds' workload: 156 monthly chunks for 8 stations in one request each", () => {
    const batches = [...sampleWeather.plan({ from: "2012-01-01", to: "2025-01-01", chunk: "month" })];
    expect(batches).toHaveLength(156);
    expect(batches[0]!.data).toMatchObject({ start: "2012-01-01", end: "2012-02-01" });
    expect(batches[155]!.data).toMatchObject({ start: "2024-12-01", end: "2025-01-01" });
    expect(new Set(batches.map((b) => b.partition)).size).toBe(156);
    expect((batches[0]!.data.stations as string[]).length).toBe(8);
  });

  it("cuts chunks at calendar boundaries and groups stations per batch", () => {
    const batches = [
      ...sampleWeather.plan({ stations: ["10000", "10037", "10074"], from: "2024-02-15", to: "2024-07-10", chunk: "quarter", stationsPerBatch: 2 }),
    ];
    expect(batches.map((b) => `${String(b.data.start)}..${String(b.data.end)}:${(b.data.stations as string[]).join("+")}`)).toEqual([
      "2024-02-15..2024-04-01:10000+10037",
      "2024-02-15..2024-04-01:10074",
      "2024-04-01..2024-07-01:10000+10037",
      "2024-04-01..2024-07-01:10074",
      "2024-07-01..2024-07-10:10000+10037",
      "2024-07-01..2024-07-10:10074",
    ]);
  });

  it("merges level by level, fan-in files per task, the last level writing gold", () => {
    const v1 = { window: "2024Q1", hive: "year=2024/quarter=1", n: 1 };
    const files: OutputFile[] = Array.from({ length: 40 }, (_, i) => ({ key: `f${i}`, rows: i, bytes: 1, sha256: "x" }));
    const l1 = planMergeLevel(sampleWeather, v1, 1, 1, files);
    expect(l1).toHaveLength(3);
    expect(l1.map((t) => (t.input.kind === "merge" ? t.input.inputs.length : 0))).toEqual([16, 16, 8]);
    expect(l1.every((t) => t.input.kind === "merge" && !t.input.final)).toBe(true);
    const l2 = planMergeLevel(sampleWeather, v1, 1, 2, files.slice(0, 3));
    expect(l2).toHaveLength(1);
    expect(l2[0]!.input).toMatchObject({ final: true, outputKey: "gold/dataset=sample-weather/year=2024/quarter=1/version=2024Q1_v1/part-00000.parquet" });
    expect(expectedTasks(40, 16)).toBe(40 * 3 + 3 + 1);
    expect(expectedTasks(1, 16)).toBe(4);
  });
});

describe("run coordinator", () => {
  it("survives eviction mid-run and still finishes with the exact output", async () => {
    await configureSample({ holdRequests: true }); // ingest stays in flight until the test lets it answer
    const id = await submit("sample-weather", { stations: ["10000", "10037"], from: "2024-01-01", to: "2024-01-09", chunk: "day", stationsPerBatch: 1 });
    const stub = env.RUN_COORDINATOR.get(env.RUN_COORDINATOR.idFromName(id));
    await vi.waitUntil(async () => (await api("/sample/edr/_stats")).json<{ held: number }>().then((s) => s.held > 0), { timeout: 30_000, interval: 20 });
    await evictDurableObject(stub); // mid-ingest: requests are held
    await configureSample({}); // answers the held requests, holds no more
    await vi.waitUntil(async () => (await getRun(id)).phase !== "ingest", { timeout: 60_000, interval: 20 });
    await evictDurableObject(stub);
    const run = await waitForRun(id);
    expect(run.status).toBe("succeeded");
    expect(run.batches).toBe(16);
    expect(run.output?.rows).toBe(2 * 8 * 24);
  });

  it("ignores duplicate and late results for settled tasks", async () => {
    await configureSample({});
    const id = await submit("sample-weather", { stations: ["10148"], from: "2024-03-01", to: "2024-03-02", chunk: "day" });
    const run = await waitForRun(id);
    expect(run.status).toBe("succeeded");
    const coordinator = coordinatorStub(env, id);
    const result = await coordinator.report([
      {
        runId: id,
        taskId: "ingest-b000000",
        status: "failed",
        attempts: 9,
        startedAt: 0,
        finishedAt: 0,
        error: { type: "x", message: "late", class: "retryable" },
      },
    ]);
    expect(result).toEqual({ accepted: 0, ignored: 1 });
    expect((await getRun(id)).status).toBe("succeeded");
    const tasks = await (await api(`/v1/jobs/${id}/tasks?phase=ingest`)).json<{ tasks: { status: string }[] }>();
    expect(tasks.tasks.map((t) => t.status)).toEqual(["succeeded"]);
  });

  it("lists runs newest first, filtered and paginated", async () => {
    await configureSample({});
    const ids: string[] = [];
    for (const day of ["05", "06", "07"])
      ids.push(
        await submit("sample-weather", {
          stations: ["10185"],
          from: `2024-04-${day}`,
          to: `2024-04-${Number(day) + 1}`.replace(/-(\d)$/, "-0$1"),
          chunk: "day",
        }),
      );
    for (const id of ids) await waitForRun(id);
    const first = await (await api("/v1/jobs?pipeline=sample-weather&status=succeeded&limit=2")).json<{ runs: { id: string }[]; next: string }>();
    expect(first.runs).toHaveLength(2);
    const second = await (await api(`/v1/jobs?pipeline=sample-weather&status=succeeded&limit=2&cursor=${first.next}`)).json<{ runs: { id: string }[] }>();
    const seen = [...first.runs, ...second.runs].map((r) => r.id);
    for (const id of ids) expect(seen.indexOf(id)).toBeGreaterThanOrEqual(0);
    expect(seen.indexOf(ids[2]!)).toBeLessThan(seen.indexOf(ids[0]!));
  });
});
