import { readBoth } from "../independent-reader";
import { describe, expect, it } from "vitest";
import { observation } from "../../src/sample/weather-data";
import { api, configureSample, env, sampleStats, submit, waitForRun } from "../helpers";

describe("a run from submit to gold Parquet, in workerd", () => {
  it("ingests, refines, validates and merges 3 stations × 2 months", async () => {
    await configureSample({});
    const stations = ["10000", "10037", "10074"];
    const id = await submit("sample-weather", { stations, from: "2024-01-01", to: "2024-03-01", chunk: "month", stationsPerBatch: 1 });
    const run = await waitForRun(id);
    expect(run.status).toBe("succeeded");
    expect(run.batches).toBe(6);
    expect(run.phases.ingest).toMatchObject({ succeeded: 6, failed: 0, dead: 0 });
    expect(run.phases.silver).toMatchObject({ succeeded: 6 });
    expect(run.phases.aggregate.succeeded).toBeGreaterThanOrEqual(1);
    expect(run.progress.percent).toBe(100);

    const hours = (31 + 29) * 24;
    expect(run.output?.rows).toBe(3 * hours);

    const res = await api(`/v1/jobs/${id}/output`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/vnd.apache.parquet");
    const rows = await readBoth(new Uint8Array(await res.arrayBuffer()));
    expect(rows).toHaveLength(3 * hours);
    const keys = new Set(rows.map((r) => `${String(r.station_id)}|${(r.observed_at as Date).toISOString()}`));
    expect(keys.size).toBe(rows.length);
    for (const r of rows.filter((_, i) => i % 97 === 0)) {
      const at = (r.observed_at as Date).getTime();
      expect(r.temperature).toBe(observation(String(r.station_id), at, "temperature"));
      expect(r.precipitation).toBe(observation(String(r.station_id), at, "precipitation"));
    }

    const manifest = await (await api(`/v1/jobs/${id}/manifest`)).json<{ status: string; batches: number }>();
    expect(manifest).toMatchObject({ status: "succeeded", batches: 6 });
    expect(run.version).toMatch(/^2024-01-01_2024-03-01_v\d+$/);
    expect(run.output?.key).toBe(`gold/dataset=sample-weather/window=2024-01-01_2024-03-01/version=${run.version}/part-00000.parquet`);
    const aggregate = await env.BUCKET.get(`runs/${id}/aggregate-v${run.version!.split("_v")[1]}.json`);
    const agg = await aggregate!.json<{ totalRows: number; inputs: unknown[]; output: { sha256: string } }>();
    expect(agg.totalRows).toBe(3 * hours);
    expect(agg.inputs).toHaveLength(6);
    expect(agg.output.sha256).toBe(run.output?.sha256);
    expect((await sampleStats()).requests).toBe(6);
  });
});
