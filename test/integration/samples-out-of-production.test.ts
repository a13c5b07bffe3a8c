// The sample pipelines run only where the sample upstream they read is enabled (issue 15, item
// 2): in production (SAMPLE_UPSTREAM disabled) they are not listed, not accepted and not fired
// by their crons, so they cannot start a failing run every day.
import { describe, expect, it } from "vitest";
import { sluice } from "../../src/index";
import { runScheduled } from "../../src/scheduled";
import { env, TOKEN } from "../helpers";

const prod = { ...env, SAMPLE_UPSTREAM: "disabled" };
const call = (path: string, init: RequestInit = {}) =>
  sluice.app.fetch(new Request(`http://x${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" } }), prod);

describe("sample pipelines where the sample upstream is off", () => {
  it("are not in the catalog, not listed and not accepted", async () => {
    expect(sluice.catalog.pipelines.map((p) => p.name)).toEqual(expect.arrayContaining(["sample-weather", "sample-posts"]));
    expect(sluice.catalog.runnable(prod).map((p) => p.name)).not.toContain("sample-weather");
    expect(sluice.catalog.runnable(env).map((p) => p.name)).toContain("sample-weather"); // where it is on (local, staging)

    const listed = await (await call("/v1/pipelines")).json<{ pipelines: { name: string }[] }>();
    expect(listed.pipelines.map((p) => p.name)).not.toContain("sample-weather");
    const submit = await call("/v1/jobs", {
      method: "POST",
      body: JSON.stringify({ pipeline: "sample-weather", params: { from: "2024-01-01", to: "2024-01-02", chunk: "day" } }),
    });
    expect(submit.status).toBe(404);
    expect(await submit.json()).toMatchObject({ error: { code: "not_found" } });
    expect((await call("/v1/pipelines/sample-weather")).status).toBe(404);
  });

  it("are not fired by their crons", async () => {
    const reports = await runScheduled(sluice.catalog, "0 6 * * *", Date.UTC(2027, 5, 2, 6), prod);
    expect(reports.filter((r) => r.pipeline.startsWith("sample-"))).toEqual([]);
    const registry = env.PIPELINE_REGISTRY.get(env.PIPELINE_REGISTRY.idFromName("sample-weather"));
    const state = await (registry as unknown as { state(p: string): Promise<{ firings: unknown[] }> }).state("sample-weather");
    expect(state.firings).toEqual([]);
  });
});
