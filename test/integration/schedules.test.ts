// Cron Triggers, catch-up, pause, admission, timeouts, cancel, webhooks and backfills.
import { createScheduledController, runDurableObjectAlarm } from "cloudflare:test";
import { readBoth } from "../independent-reader";
import { describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { windowFor, windowsSince } from "../../src/pipelines/schedule";
import { coordinatorStub } from "../../durable-objects/rpc/coordinator";
import { api, configureSample, env, getRun, submit, waitForRun } from "../helpers";

const DAILY = "0 6 * * *";
const QUARTERLY = "0 6 1 1,4,7,10 *";

async function fire(cron: string, at: string) {
  const controller = createScheduledController({ cron, scheduledTime: new Date(at) });
  await worker.scheduled(controller, env);
}

async function state() {
  return (
    await (
      await api("/v1/pipelines/sample-weather")
    ).json<{ state: { paused: boolean; queued: string[]; running: string[]; firings: { schedule: string; outcome: string; runs: string[] }[] } }>()
  ).state;
}

describe("schedule windows", () => {
  it("covers the previous day, month or quarter of a firing", () => {
    expect(windowFor("previous-day", Date.parse("2026-11-22T06:00:00Z"))).toEqual({ from: "2026-11-21", to: "2026-11-22" });
    expect(windowFor("previous-quarter", Date.parse("2024-04-01T06:00:00Z"))).toEqual({ from: "2024-01-01", to: "2024-04-01" });
    expect(windowFor("previous-quarter", Date.parse("2025-01-01T06:00:00Z"))).toEqual({ from: "2024-10-01", to: "2025-01-01" });
    expect(windowFor("previous-month", Date.parse("2024-03-01T00:30:00Z"))).toEqual({ from: "2024-02-01", to: "2024-03-01" });
  });

  it("lists the windows missed since the last successful one", () => {
    const last = { from: "2026-11-21", to: "2026-11-22" };
    expect(windowsSince("previous-day", "2026-11-18", last).map((w) => w.from)).toEqual(["2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21"]);
    expect(windowsSince("previous-day", "2026-11-22", last)).toEqual([]);
    expect(windowsSince("previous-day", null, last)).toEqual([last]);
  });

  it("lists in wrangler.toml every cron a pipeline uses", async () => {
    const PIPELINES = (await import("../../src/index")).sluice.catalog.pipelines;
    const toml = (await import("../../wrangler.toml?raw")).default;
    const crons = [...(/\[triggers\]\s*crons\s*=\s*\[([^\]]*)\]/.exec(toml)?.[1] ?? "").matchAll(/"([^"]+)"/g)].map((m) => m[1]);
    for (const p of PIPELINES) for (const s of [...p.schedules, ...p.compactions]) expect(crons).toContain(s.cron);
  });
});

describe("cron triggers", () => {
  it("the daily cron starts yesterday's run, once however often it fires", async () => {
    await configureSample({});
    await fire(DAILY, "2026-11-22T06:00:00Z");
    await fire(DAILY, "2026-11-22T06:00:00Z");
    const run = await waitForRun("sample-weather-daily-2026-11-21");
    expect(run.status).toBe("succeeded");
    expect(run.params).toMatchObject({ from: "2026-11-21", to: "2026-11-22", chunk: "day" });
    expect(run.output?.rows).toBe(8 * 24);
    const firings = (await state()).firings.filter((f) => f.schedule === "daily");
    expect(firings.map((f) => f.outcome)).toEqual(["nothing_new", "started"]);
  });

  it("the quarterly cron starts the previous quarter", async () => {
    await configureSample({});
    await fire(QUARTERLY, "2024-04-01T06:00:00Z");
    const run = await waitForRun("sample-weather-quarterly-2024q1");
    expect(run.status).toBe("succeeded");
    expect(run.version).toMatch(/^2024Q1_v\d+$/);
    expect(run.output?.rows).toBe(8 * 91 * 24);
  });

  it("catches up exactly the windows missed since the last success, oldest first", async () => {
    await configureSample({});
    await fire(DAILY, "2026-11-22T06:00:00Z"); // the last success (idempotent if it already ran)
    expect((await waitForRun("sample-weather-daily-2026-11-21")).status).toBe("succeeded");
    await fire(DAILY, "2026-11-27T06:00:00Z");
    const firing = (await state()).firings.find((f) => f.schedule === "daily")!;
    expect(firing.runs).toEqual([
      "sample-weather-daily-2026-11-22",
      "sample-weather-daily-2026-11-23",
      "sample-weather-daily-2026-11-24",
      "sample-weather-daily-2026-11-25",
      "sample-weather-daily-2026-11-26",
    ]);
    for (const id of firing.runs) expect((await waitForRun(id)).status).toBe("succeeded");
    // One at a time: each started after the one before had ended.
    const runs = await Promise.all(firing.runs.map(getRun));
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.startedAt!).toBeGreaterThanOrEqual(runs[i - 1]!.finishedAt!);
  });

  it("a paused pipeline's firings are recorded as skipped and start nothing", async () => {
    await configureSample({});
    expect((await (await api("/v1/pipelines/sample-weather/pause", { method: "POST" })).json<{ paused: boolean }>()).paused).toBe(true);
    await fire(QUARTERLY, "2024-07-01T06:00:00Z");
    expect((await api("/v1/jobs/sample-weather-quarterly-2024q2")).status).toBe(404);
    expect((await state()).firings[0]).toMatchObject({ schedule: "quarterly", outcome: "skipped_paused", runs: [] });
    await api("/v1/pipelines/sample-weather/resume", { method: "POST" });
    await fire(QUARTERLY, "2024-07-01T06:00:00Z");
    expect((await state()).firings[0]).toMatchObject({ schedule: "quarterly", outcome: "started" });
    expect((await waitForRun("sample-weather-quarterly-2024q2")).status).toBe("succeeded");
  });
});

describe("run control", () => {
  it("holds max concurrent runs: the second run waits, then starts when the first ends", async () => {
    await configureSample({ holdRequests: true }); // the first run cannot end before the check
    const first = await submit("sample-weather", { stations: ["10000"], from: "2022-01-01", to: "2022-01-03", chunk: "day" });
    const second = await submit("sample-weather", { stations: ["10037"], from: "2022-01-01", to: "2022-01-03", chunk: "day" });
    expect((await getRun(second)).status).toBe("queued");
    expect((await state()).queued).toEqual([second]);
    await configureSample({});
    const a = await waitForRun(first);
    const b = await waitForRun(second);
    expect([a.status, b.status]).toEqual(["succeeded", "succeeded"]);
    expect(b.startedAt!).toBeGreaterThanOrEqual(a.finishedAt!);
  });

  it("a timeout alarm ends the run timed_out, drops its tasks, and calls the webhook", async () => {
    await configureSample({ holdRequests: true }); // the run cannot end before its timeout alarm
    await api("/sample/hooks/sample-weather", { method: "DELETE" });
    const { id } = await (
      await api("/v1/jobs", {
        method: "POST",
        json: { pipeline: "sample-weather", params: { stations: ["10074"], from: "2022-02-01", to: "2022-02-03", chunk: "day" }, options: { timeoutMs: 1 } },
      })
    ).json<{ id: string }>();
    const stub = env.RUN_COORDINATOR.get(env.RUN_COORDINATOR.idFromName(id));
    await vi.waitUntil(
      async () => {
        await runDurableObjectAlarm(stub);
        return (await getRun(id)).status === "timed_out";
      },
      { timeout: 20_000, interval: 20 },
    );
    const run = await getRun(id);
    expect(run.reason).toBe("the run exceeded its timeout of 1 ms");
    expect(run.phases.ingest.cancelled).toBe(2);
    expect(run.output).toBeNull();
    expect(await env.BUCKET.head(`runs/${id}/stopped`)).not.toBeNull();
    const hooks = await vi.waitUntil(async () => {
      const r = await (await api("/sample/hooks/sample-weather")).json<{ received: { runId: string }[] }>();
      return r.received.length > 0 ? r.received : false;
    });
    expect(hooks).toEqual([
      {
        runId: id,
        pipeline: "sample-weather",
        status: "timed_out",
        reason: "the run exceeded its timeout of 1 ms",
        finishedAt: expect.any(String),
        links: { self: `/v1/jobs/${id}`, manifest: `/v1/jobs/${id}/manifest`, output: `/v1/jobs/${id}/output` },
        event: "timed_out",
      },
    ]);
  });

  it("cancel drops pending tasks and serves nothing; a new run of the window is exact", async () => {
    await configureSample({ holdRequests: true }); // the cancel comes while every request is held
    const params = { stations: ["10111"], from: "2022-03-01", to: "2022-03-05", chunk: "day" };
    const id = await submit("sample-weather", params);
    const res = await api(`/v1/jobs/${id}/cancel`, { method: "POST" });
    expect(res.status).toBe(202);
    const run = await getRun(id);
    expect(run.status).toBe("cancelled");
    expect(run.phases.ingest.cancelled).toBe(4);
    expect((await api(`/v1/jobs/${id}/output`)).status).toBe(409);
    expect((await api(`/v1/jobs/${id}/cancel`, { method: "POST" })).status).toBe(409);
    await configureSample({});
    const again = await waitForRun(await submit("sample-weather", params));
    expect(again.status).toBe("succeeded");
    expect(again.output?.rows).toBe(4 * 24);
  });

  it("retries a failing webhook until it is delivered, and the run's status is unaffected", async () => {
    await configureSample({ failingStations: ["10148"], webhookFailures: 2 });
    await api("/sample/hooks/sample-weather", { method: "DELETE" });
    const { id } = await (
      await api("/v1/jobs", {
        method: "POST",
        json: {
          pipeline: "sample-weather",
          params: { stations: ["10148"], from: "2022-04-01", to: "2022-04-02", chunk: "day" },
          options: { maxAttempts: 1, retryPasses: 0 },
        },
      })
    ).json<{ id: string }>();
    const run = await waitForRun(id);
    expect(run.status).toBe("failed");
    const stub = coordinatorStub(env, id);
    const delivered = await vi.waitUntil(
      async () => {
        const list = await stub.notifications();
        return list[0]?.status === "delivered" ? list[0] : false;
      },
      { timeout: 30_000, interval: 100 },
    );
    expect(delivered.attempts).toBe(3);
    expect((await getRun(id)).status).toBe("failed");
  });
});

describe("backfills", () => {
  it("runs one run per quarter, at most max_parallel at once, with a summary", async () => {
    await configureSample({});
    const res = await api("/v1/pipelines/sample-weather/backfill", {
      method: "POST",
      json: {
        start_year: 2021,
        end_year: 2021,
        quarters: [2, 1],
        params: { stations: ["10185"], products: ["temperature", "precipitation"], chunk: "quarter" },
        max_parallel: 2,
      },
    });
    expect(res.status).toBe(202);
    const started = await res.json<{ id: string; windows: { window: string; runId: string }[] }>();
    expect(started.windows.map((w) => w.window)).toEqual(["2021Q1", "2021Q2"]);
    const view = await vi.waitUntil(
      async () => {
        const v = await (
          await api(`/v1/pipelines/sample-weather/backfills/${started.id}`)
        ).json<{ status: string; windows: { runId: string; status: string }[] }>();
        return v.status !== "running" ? v : false;
      },
      { timeout: 60_000, interval: 100 },
    );
    expect(view.status).toBe("succeeded");
    const runs = await Promise.all(view.windows.map((w) => getRun(w.runId)));
    expect(runs.map((r) => r.output?.rows)).toEqual([90 * 24, 91 * 24]);
    // Both ran at once: the second started before the first ended.
    expect(runs[1]!.startedAt!).toBeLessThan(runs[0]!.finishedAt!);
    const rows = await (await api(`/v1/jobs/${runs[0]!.id}/output`)).arrayBuffer();
    const first = (await readBoth(new Uint8Array(rows)))[0]!;
    expect(first.humidity).toBeNull();
    expect(typeof first.temperature).toBe("number");
  });

  it.each([
    [{ from: "2021-01-01", to: "2021-02-01", start_year: 2021, end_year: 2021 }, "invalid_backfill"],
    [{ params: {} }, "invalid_backfill"],
    [{ from: "2021-02-01", to: "2021-01-01" }, "invalid_backfill"],
    [{ start_year: 2021, end_year: 2020 }, "invalid_backfill"],
    [{ from: "2000-01-01", to: "2010-01-01", window: "day" }, "too_many_windows"],
    [{ start_year: 2021, end_year: 2021, params: { chunk: "week" } }, "invalid_params"],
  ])("refuses %j with %s", async (body, code) => {
    const res = await api("/v1/pipelines/sample-weather/backfill", { method: "POST", json: body });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code } });
  });
});
