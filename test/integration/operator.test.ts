// What an operator sees: the OpenAPI document, the reference page, the dashboard.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, configureSample, env, submit, waitForRun } from "../helpers";

describe("OpenAPI", () => {
  it("documents every route, with request schemas generated from the validating zod schemas", async () => {
    const res = await api("/openapi.json");
    expect(res.status).toBe(200);
    const doc = await res.json<{
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> };
    }>();
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/v1/jobs",
        "/v1/jobs/{id}",
        "/v1/jobs/{id}/tasks",
        "/v1/jobs/{id}/output",
        "/v1/jobs/{id}/cancel",
        "/v1/jobs/{id}/redrive",
        "/v1/jobs/{id}/phases/{phase}/rerun",
        "/v1/pipelines/{name}/backfill",
      ]),
    );
    const params = doc.components.schemas["Params.sample-weather"]!;
    expect(Object.keys(params.properties!)).toEqual(
      expect.arrayContaining(["stations", "from", "to", "chunk", "stationsPerBatch", "products", "temperatureUnit"]),
    );
    expect(params.required).toEqual(expect.arrayContaining(["from", "to"]));
    expect(Object.keys(doc.components.schemas.RunOptions!.properties!)).toEqual(
      expect.arrayContaining(["toleratedFailurePercent", "retryPasses", "maxAttempts", "force", "timeoutMs"]),
    );
    expect(Object.keys(doc.components.schemas.Backfill!.properties!)).toEqual(
      expect.arrayContaining(["start_year", "quarters", "force_reprocess", "max_parallel"]),
    );
  });

  it("serves a reference page", async () => {
    const page = await (await api("/docs")).text();
    expect(page).toContain("<code>/v1/jobs/{id}/phases/{phase}/rerun</code>");
    expect(page).toContain("Params.sample-weather");
  });
});

describe("dashboard", () => {
  it("lists pipelines and runs, and shows a run's phases, chart, and a failed task's error", async () => {
    await configureSample({ failingStations: ["10222"] });
    const res = await api("/v1/jobs", {
      method: "POST",
      json: {
        pipeline: "sample-weather",
        params: { stations: ["10222", "10259"], from: "2021-09-01", to: "2021-09-03", chunk: "day", stationsPerBatch: 1 },
        options: { maxAttempts: 1, retryPasses: 0, toleratedFailurePercent: 50 },
      },
    });
    const { id } = await res.json<{ id: string }>();
    const run = await waitForRun(id);
    expect(run.status).toBe("partial");

    const home = await api("/");
    expect(home.headers.get("content-type")).toContain("text/html");
    const homeHtml = await home.text();
    expect(homeHtml).toContain("sample-weather");
    expect(homeHtml).toContain("<code>0 6 * * *</code> daily");
    expect(homeHtml).toContain(`<a href="/runs/${id}">${id}</a>`);
    expect(homeHtml).toContain('title="ingest 4/4"');
    expect(homeHtml).toContain('title="aggregate 1/1"');

    const detail = await (await api(`/runs/${id}`)).text();
    expect(detail).toContain('class="status partial"');
    expect(detail).toContain(`href="/v1/jobs/${id}/output"`);
    expect(detail).toContain("<svg");
    const failed = await (await api(`/runs/${id}?status=failed`)).text();
    expect(failed).toContain("upstream_5xx: upstream answered 503");
    expect((await api("/runs/nope-not-here")).status).toBe(404);
  });

  it("draws the rate chart of a run whose tasks span 40 hours from at most 240 points (issue 15, item 7)", async () => {
    await configureSample({});
    const id = await submit("sample-weather", { stations: ["10000"], from: "2021-03-01", to: "2021-03-05", chunk: "day" });
    await waitForRun(id);
    // A redrive the next day: ingest tasks finished over 40 hours (one array entry a second made 500s).
    const stub = env.RUN_COORDINATOR.get(env.RUN_COORDINATOR.idFromName(id));
    await runInDurableObject(stub, async (_instance, state) => {
      state.storage.sql.exec("UPDATE tasks SET finished_at = finished_at + (seq % 4) * 48000000 WHERE phase = 'ingest'");
    });
    const res = await api(`/runs/${id}`);
    expect(res.status).toBe(200);
    const page = await res.text();
    const points = /<polyline[^>]*points="([^"]*)"/.exec(page)?.[1]?.split(" ") ?? [];
    expect(points.length).toBeGreaterThan(100);
    expect(points.length).toBeLessThanOrEqual(240);
    expect(page).toMatch(/\(60\d s a point\)/);
  });

  it("refreshes itself while a run is live", async () => {
    await configureSample({ holdRequests: true }); // the run stays live until its request is released
    const id = await submit("sample-weather", { stations: ["10296"], from: "2021-10-01", to: "2021-10-02", chunk: "day" });
    const live = await (await api(`/runs/${id}`)).text();
    expect(live).toContain('http-equiv="refresh"');
    await configureSample({});
    expect((await waitForRun(id)).status).toBe("succeeded");
    expect(await (await api(`/runs/${id}`)).text()).not.toContain('http-equiv="refresh"');
  });
});

describe("typed client", () => {
  it("reaches the API through Hono's RPC client with typed paths and responses", async () => {
    const { exports } = await import("cloudflare:workers");
    const { sluiceClient } = await import("../../src/client");
    const client = sluiceClient("http://sluice.test", "test-token", (input, init) => exports.default.fetch(new Request(input, init)));
    const pipelines = await (await client.v1.pipelines.$get()).json();
    expect(pipelines.pipelines.map((p) => p.name)).toContain("sample-weather");
    const missing = await client.v1.jobs[":id"].$get({ param: { id: "sample-weather-20200101t000000-000000" } });
    expect(missing.status).toBe(404);
  });
});
