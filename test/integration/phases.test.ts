// Medallion phases re-run alone from the stored layer below, with new output versions.
import { readBoth } from "../independent-reader";
import { describe, expect, it } from "vitest";
import { observation } from "../../src/sample/weather-data";
import { api, configureSample, env, getRun, sampleStats, submit, waitForRun } from "../helpers";

async function rowsAt(key: string) {
  const object = await env.BUCKET.get(key);
  expect(object).not.toBeNull();
  return readBoth(new Uint8Array(await object!.arrayBuffer()));
}

describe("phase re-runs", () => {
  it("re-runs silver with a new unit: 0 upstream requests, a new version, the old one intact", async () => {
    await configureSample({});
    const id = await submit("sample-weather", { stations: ["10000", "10037"], from: "2024-01-01", to: "2024-04-01", chunk: "month" });
    const first = await waitForRun(id);
    expect(first.status).toBe("succeeded");
    expect(first.version).toMatch(/^2024Q1_v\d+$/);
    expect(first.output!.key).toBe(`gold/dataset=sample-weather/year=2024/quarter=1/version=${first.version}/part-00000.parquet`);
    const requests = (await sampleStats()).requests;

    const res = await api(`/v1/jobs/${id}/phases/silver/rerun`, { method: "POST", json: { params: { temperatureUnit: "fahrenheit" } } });
    expect(res.status).toBe(202);
    const second = await waitForRun(id);
    expect(second.status).toBe("succeeded");
    expect(second.generation).toBe(2);
    const n = Number(first.version!.split("_v")[1]);
    expect(second.version).toBe(`2024Q1_v${n + 1}`);
    expect((await sampleStats()).requests).toBe(requests);
    expect((second.params as { temperatureUnit: string }).temperatureUnit).toBe("fahrenheit");

    const before = await rowsAt(first.output!.key);
    const after = await rowsAt(second.output!.key);
    expect(after).toHaveLength(before.length);
    const sample = after[100]!;
    const celsius = observation(String(sample.station_id), (sample.observed_at as Date).getTime(), "temperature");
    expect(before[100]!.temperature).toBe(celsius);
    expect(sample.temperature).toBe(Math.round(((celsius! * 9) / 5) * 10 + 320) / 10);
    // Only silver, aggregate and quality ran again: the refine tasks are the first generation's.
    const tasks = await (await api(`/v1/jobs/${id}/tasks?limit=1000`)).json<{ tasks: { id: string; phase: string }[] }>();
    expect(tasks.tasks.filter((t) => t.phase === "refine").every((t) => !t.id.includes("-g2"))).toBe(true);
    expect(tasks.tasks.filter((t) => t.phase === "silver" && t.id.endsWith("-g2"))).toHaveLength(3);
    // The served output is the new version; the old stays readable where it was.
    const served = await api(`/v1/jobs/${id}/output`);
    expect(served.headers.get("x-sluice-sha256")).toBe(second.output!.sha256);
  });

  it("re-runs the aggregation alone into a new version with the same rows", async () => {
    await configureSample({});
    const id = await submit("sample-weather", { stations: ["10074"], from: "2024-04-01", to: "2024-05-01", chunk: "day" });
    const first = await waitForRun(id);
    const requests = (await sampleStats()).requests;
    expect((await api(`/v1/jobs/${id}/phases/aggregate/rerun`, { method: "POST" })).status).toBe(202);
    const second = await waitForRun(id);
    expect(second.status).toBe("succeeded");
    expect(second.output!.rows).toBe(first.output!.rows);
    expect(second.output!.key).not.toBe(first.output!.key);
    expect((await sampleStats()).requests).toBe(requests);
    expect(second.phases.silver.total).toBe(first.phases.silver.total);
  });

  it("refuses what cannot be re-run", async () => {
    await configureSample({ holdRequests: true }); // active until its requests are released
    const id = await submit("sample-weather", { stations: ["10111"], from: "2024-05-01", to: "2024-05-03", chunk: "day" });
    const active = await api(`/v1/jobs/${id}/phases/silver/rerun`, { method: "POST" });
    expect(active.status).toBe(409);
    await configureSample({});
    await waitForRun(id);
    const ingest = await api(`/v1/jobs/${id}/phases/ingest/rerun`, { method: "POST" });
    expect(ingest.status).toBe(400);
    expect(await ingest.json()).toMatchObject({ error: { code: "invalid_phase" } });
    const moved = await api(`/v1/jobs/${id}/phases/silver/rerun`, { method: "POST", json: { params: { to: "2024-05-04" } } });
    expect(moved.status).toBe(400);
    expect(await moved.json()).toMatchObject({ error: { code: "plan_changed" } });
    const bad = await api(`/v1/jobs/${id}/phases/silver/rerun`, { method: "POST", json: { params: { temperatureUnit: "kelvin" } } });
    expect(bad.status).toBe(400);
    expect((await getRun(id)).generation).toBe(1);
  });
});

describe("bronze raw reuse", () => {
  it("skips downloads a earlier run made, unless forced", async () => {
    await configureSample({});
    const params = { stations: ["10148"], from: "2023-03-01", to: "2023-03-04", chunk: "day" };
    await waitForRun(await submit("sample-weather", params));
    expect((await sampleStats()).requests).toBe(3);
    const reused = await waitForRun(await submit("sample-weather", params));
    expect(reused.status).toBe("succeeded");
    expect((await sampleStats()).requests).toBe(3);
    const forced = await (
      await api("/v1/jobs", { method: "POST", json: { pipeline: "sample-weather", params, options: { force: true } } })
    ).json<{ id: string }>();
    expect((await waitForRun(forced.id)).status).toBe("succeeded");
    expect((await sampleStats()).requests).toBe(6);
  });
});

describe("quality gate", () => {
  it("fails a run whose station has missing hours, with the reason and a quality manifest", async () => {
    await configureSample({ gapStations: ["10185"] });
    const id = await submit("sample-weather", { stations: ["10185", "10222"], from: "2024-07-01", to: "2024-08-01", chunk: "month" });
    const run = await waitForRun(id);
    expect(run.status).toBe("failed");
    expect(run.reason).toMatch(/^quality check continuity\(station_id,observed_at\) failed: measured \d+, threshold 0$/);
    const n = run.version!.split("_v")[1];
    const manifest = await (await env.BUCKET.get(`runs/${id}/quality-v${n}.json`))!.json<{
      passed: boolean;
      checks: { name: string; passed: boolean; offending: string[] }[];
    }>();
    expect(manifest.passed).toBe(false);
    const continuity = manifest.checks.find((c) => c.name.startsWith("continuity"))!;
    expect(continuity.offending[0]).toMatch(/^10185 2024-07-01T00Z\/2024-08-01T00Z: \d+ of 744 missing$/);
    expect(manifest.checks.filter((c) => c.name !== continuity.name).every((c) => c.passed)).toBe(true);
    expect((await api(`/v1/jobs/${id}/output`)).status).toBe(409);
  });
});
