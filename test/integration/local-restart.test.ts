// A restarted local runtime resumes (issue 15, item 12): where the queue keeps its messages in
// memory, a new coordinator instance sends the tasks running since before it again at its first
// alarm (30 s on), not after the 30-minute stale time. Simulated by resetting every instance.
import { abortAllDurableObjects, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import type { TaskView } from "../../src/types";
import { api, configureSample, env, getRun, submit, waitForRun } from "../helpers";

const ingestTasks = async (id: string) => ((await (await api(`/v1/jobs/${id}/tasks?phase=ingest`)).json()) as { tasks: TaskView[] }).tasks;

describe("a local runtime restarted mid-run", () => {
  it("sends the tasks running since before the restart again at once, and the run ends exact", async () => {
    await configureSample({ holdRequests: true }); // its ingest requests are in flight at the restart
    const id = await submit("sample-weather", { stations: ["10111"], from: "2023-02-01", to: "2023-02-03", chunk: "day" });
    await vi.waitUntil(async () => (await getRun(id)).phases.ingest.running > 0, { timeout: 20_000, interval: 50 });
    const stub = env.RUN_COORDINATOR.get(env.RUN_COORDINATOR.idFromName(id));
    // The process "restarts": every Durable Object instance is reset, storage kept.
    await abortAllDurableObjects();
    const before = await ingestTasks(id);
    const running = before.filter((t) => t.status === "running");
    expect(running.length).toBeGreaterThan(0);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const after = await ingestTasks(id);
    for (const t of running) {
      const now = after.find((a) => a.id === t.id)!;
      if (now.status === "running") expect(now.attempts).toBe(t.attempts + 1); // sent again, not after 30 minutes
    }
    await configureSample({});
    const run = await waitForRun(id);
    expect(run.status).toBe("succeeded");
    expect(run.output?.rows).toBe(2 * 24);
  });
});
