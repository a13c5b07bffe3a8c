// A deployment that drops a pipeline (issue 16: the catalog is passed in): its runs can still be
// read, and a run of it still going ends `failed` with the reason at its next alarm.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { expect, it, vi } from "vitest";
import { Catalog } from "../../src/catalog";
import { api, configureSample, env, getRun, submit, waitForRun } from "../helpers";
import { accountsFrom, postsPipeline } from "../limits-pipelines";

const coordinator = (id: string) => env.RUN_COORDINATOR.get(env.RUN_COORDINATOR.idFromName(id));

/** The coordinator of `id` from now on sees a deployment without any pipeline. */
const dropPipelines = (id: string) =>
  runInDurableObject(coordinator(id), (instance) => {
    Object.defineProperty(instance, "catalog", { get: () => new Catalog([]) });
  });

it("shows a finished run of a removed pipeline, and its manifest", async () => {
  postsPipeline("removed-done", [{ requests: 1000, per: "1s" }]);
  await configureSample({});
  const id = await submit("removed-done", { accounts: accountsFrom(100, 10), tag: "removed-done" });
  expect((await waitForRun(id)).status).toBe("succeeded");
  await dropPipelines(id);
  const view = await getRun(id);
  expect(view).toMatchObject({ status: "succeeded", pipeline: "removed-done" });
  expect(view.progress.percent).toBe(100);
  const manifest = await api(`/v1/jobs/${id}/manifest`);
  expect(manifest.status).toBe(200);
});

it("ends a running run of a removed pipeline failed, with the reason, at its next alarm", async () => {
  postsPipeline("removed-running", [{ requests: 5, per: "1s" }], { size: 2 });
  await configureSample({ holdRequests: true }); // running, its requests held, when the pipeline goes
  const id = await submit("removed-running", { accounts: accountsFrom(200, 40), tag: "removed-running" });
  await vi.waitUntil(async () => (await getRun(id)).status === "running", { timeout: 30_000, interval: 50 });
  await dropPipelines(id);
  expect((await getRun(id)).status).toBe("running"); // the view reads without the definition
  expect(await runDurableObjectAlarm(coordinator(id))).toBe(true);
  const view = await getRun(id);
  expect(view.status).toBe("failed");
  expect(view.reason).toBe("pipeline removed-running is no longer deployed");
  await configureSample({}); // the held requests end; their tasks find the run over
});
