// A schedule's windows (issue 17, item 4): catch-up tries a failed window again (a new attempt,
// `…-a2`) instead of skipping it forever, up to its attempts, then gives it up and moves on; with
// dependsOnPast a window starts only after the one before it succeeded, the later ones shown
// waiting and started as soon as it does. Fired through the registry as a Cron Trigger would.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { definePipeline } from "../../src/pipelines/define";
import type { Schedule } from "../../src/pipelines/schedule";
import { SAMPLE_ORIGIN } from "../../src/upstream/fetch";
import { registryStub } from "../../durable-objects/rpc/registry";
import { api, configureSample, env, getRun, registerPipeline, waitForRun } from "../helpers";
import { POSTS } from "../limits-pipelines";

/** Posts of three accounts a day; one attempt a request and a task, so a 503 fails the run at once. */
function dailyPosts(name: string, schedule: Partial<Schedule>) {
  const pipeline = definePipeline({
    name,
    description: "three accounts' posts, daily",
    params: z.object({ day: z.string() }).strict(),
    source: {
      name: `${name}-api`,
      baseUrl: `${SAMPLE_ORIGIN}/sample/social`,
      rateLimit: [{ requests: 1000, per: "1s" }],
      concurrency: 8,
      timeoutMs: 10_000,
      retry: { attempts: 1 },
    },
    *plan(params) {
      yield { partition: `posts/day=${params.day}`, data: { accounts: ["501", "502", "503"] } };
    },
    items: (batch, source) =>
      (batch.data.accounts as string[]).map((id) => ({ item: id, request: { url: `${source.baseUrl}/accounts/${id}/posts?limit=100` } })),
    ...POSTS,
    maxAttempts: 1,
    retryPasses: 0,
    window: (p) => ({ name: p.day, hive: `day=${p.day}` }),
    schedules: [{ name: "daily", cron: "15 5 * * *", window: "previous-day", params: (w) => ({ day: w.from }), ...schedule }],
  });
  registerPipeline(pipeline);
  return pipeline;
}

const fire = (pipeline: string, at: string) => registryStub(env, pipeline).fire(pipeline, "daily", Date.parse(at));

interface WindowView {
  window: { from: string };
  status: string;
  attempts: number;
  runId: string | null;
}
const windows = async (pipeline: string) =>
  (await (await api(`/v1/pipelines/${pipeline}`)).json<{ state: { schedules: { windows: WindowView[]; watermark: string | null }[] } }>()).state.schedules[0]!;
const brief = (w: WindowView[]) => w.map((x) => `${x.window.from} ${x.status} ${x.attempts}`);

describe("schedule windows", () => {
  it("tries a failed window again at the next firing, gives it up after its attempts, and moves on", async () => {
    dailyPosts("win-retry", { catchUp: { enabled: true, max: 7, attempts: 2 } });
    await configureSample({ faultRate: 1, faultKinds: ["5xx"] });
    expect(await fire("win-retry", "2026-03-02T05:15:00Z")).toEqual({ outcome: "started", runs: ["win-retry-daily-2026-03-01"] });
    expect((await waitForRun("win-retry-daily-2026-03-01")).status).toBe("failed");

    // The next firing (the same day's, fired again) starts a second attempt of the failed window.
    expect(await fire("win-retry", "2026-03-02T05:15:00Z")).toEqual({ outcome: "started", runs: ["win-retry-daily-2026-03-01-a2"] });
    expect((await waitForRun("win-retry-daily-2026-03-01-a2")).status).toBe("failed");
    expect(brief((await windows("win-retry")).windows)).toEqual(["2026-03-01 gave_up 2"]);

    // Out of attempts: the window is settled, the watermark passes it, the next day runs.
    await configureSample({});
    expect(await fire("win-retry", "2026-03-03T05:15:00Z")).toEqual({ outcome: "started", runs: ["win-retry-daily-2026-03-02"] });
    expect((await waitForRun("win-retry-daily-2026-03-02")).status).toBe("succeeded");
    const state = await windows("win-retry");
    expect(brief(state.windows)).toEqual(["2026-03-02 succeeded 1", "2026-03-01 gave_up 2"]);
    expect(state.watermark).toBe("2026-03-03");
    expect(await fire("win-retry", "2026-03-03T05:15:00Z")).toEqual({ outcome: "nothing_new", runs: [] });
  });

  it("with dependsOnPast, holds later windows until the failed one succeeds, then starts them in order", async () => {
    dailyPosts("win-past", { dependsOnPast: true, catchUp: { enabled: true, max: 7, attempts: 3 } });
    await configureSample({ faultRate: 1, faultKinds: ["5xx"] });
    await fire("win-past", "2026-04-02T05:15:00Z");
    expect((await waitForRun("win-past-daily-2026-04-01")).status).toBe("failed");

    // Three windows due: only the failed one is tried again; the two after it wait.
    expect(await fire("win-past", "2026-04-04T05:15:00Z")).toEqual({ outcome: "started", runs: ["win-past-daily-2026-04-01-a2"] });
    expect((await waitForRun("win-past-daily-2026-04-01-a2")).status).toBe("failed");
    expect(brief((await windows("win-past")).windows)).toEqual(["2026-04-03 waiting 0", "2026-04-02 waiting 0", "2026-04-01 failed 2"]);
    expect((await api("/v1/jobs/win-past-daily-2026-04-02")).status).toBe(404);

    // The third attempt succeeds: the waiting windows start one after another, no firing needed.
    await configureSample({});
    expect(await fire("win-past", "2026-04-04T05:15:00Z")).toEqual({ outcome: "started", runs: ["win-past-daily-2026-04-01-a3"] });
    const a3 = await waitForRun("win-past-daily-2026-04-01-a3");
    const second = await waitForRun("win-past-daily-2026-04-02");
    const third = await waitForRun("win-past-daily-2026-04-03");
    expect([a3.status, second.status, third.status]).toEqual(["succeeded", "succeeded", "succeeded"]);
    expect(second.createdAt).toBeGreaterThanOrEqual(a3.finishedAt!);
    expect(third.createdAt).toBeGreaterThanOrEqual(second.finishedAt!);
    expect(third.output?.rows).toBe((await getRun("win-past-daily-2026-04-01-a3")).output?.rows);
    expect((await windows("win-past")).watermark).toBe("2026-04-04");
  });
});
