// Derived pipelines (issue 17, item 1): a pipeline whose input is another pipeline's published
// gold for a window. It reads the latest version that passed quality, downloads nothing, runs
// refine, silver, aggregate and quality on those rows, and names what it read in its manifest
// (lineage). Triggered by the upstream's windows, it runs after each. Outputs are read with both
// Parquet readers and compared row by row with the upstream's own output.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Catalog } from "../../src/catalog";
import { defineDerivedPipeline } from "../../src/pipelines/derived";
import { sampleWeather } from "../../src/pipelines/sample-weather";
import { check } from "../../src/quality/checks";
import { registryStub } from "../../durable-objects/rpc/registry";
import { api, configureSample, env, getRun, registerPipeline, submit, waitForRun } from "../helpers";
import { readBoth } from "../independent-reader";

/** Hours at or above 18 °C, per station: rows of sample-weather's output, some left out. */
const warmHours = defineDerivedPipeline({
  name: "dv-warm-hours",
  description: "sample-weather's hours at or above 18 °C",
  from: { pipeline: sampleWeather },
  rowSchema: z.object({ station_id: z.string(), observed_at: z.date(), temperature: z.number() }),
  key: ["station_id", "observed_at"],
  select: (r) =>
    typeof r.temperature === "number" && r.temperature >= 18 ? { station_id: r.station_id, observed_at: r.observed_at, temperature: r.temperature } : null,
  quality: [check.minRows(1)],
  triggers: [{ name: "after-weather", after: ["sample-weather"], params: (w) => ({ from: w.from, to: w.to }) }],
});

/** One row per station from sample-weather's station-quarterly gold dataset. */
const stationCounts = defineDerivedPipeline({
  name: "dv-station-counts",
  description: "observations per station, from sample-weather's station-quarterly dataset",
  from: { pipeline: sampleWeather, dataset: "station-quarterly" },
  rowSchema: z.object({ station_id: z.string(), observations: z.number() }),
  key: ["station_id"],
  select: (r) => ({ station_id: r.station_id, observations: Number(r.observations) }),
});

registerPipeline(warmHours);
registerPipeline(stationCounts);

const STATIONS = ["10000", "10037", "10074"];

async function output(runId: string): Promise<Record<string, unknown>[]> {
  const res = await api(`/v1/jobs/${runId}/output`);
  expect(res.status).toBe(200);
  return readBoth(new Uint8Array(await res.arrayBuffer()));
}

async function outputOf(runId: string, dataset: string): Promise<Record<string, unknown>[]> {
  return readBoth(new Uint8Array(await (await api(`/v1/jobs/${runId}/output?dataset=${dataset}`)).arrayBuffer()));
}

const row = (r: Record<string, unknown>) => `${String(r.station_id)} ${(r.observed_at as Date).toISOString()} ${String(r.temperature)}`;

describe("derived pipelines", () => {
  it("reads the upstream's latest published version of the window: its rows, mapped, and its lineage in the manifest", async () => {
    await configureSample({});
    const day = { from: "2025-07-01", to: "2025-07-02" };
    const first = await waitForRun(await submit("sample-weather", { ...day, stations: STATIONS, chunk: "day" }));
    expect(first.status).toBe("succeeded");
    // A second version of the window: the derived run reads this one, the latest that passed.
    const upstream = await waitForRun(
      await submit("sample-weather", { ...day, stations: STATIONS, chunk: "day", temperatureUnit: "celsius", products: ["temperature", "humidity"] }),
    );
    expect(upstream.status).toBe("succeeded");
    expect(upstream.version).not.toBe(first.version);

    const before = (await (await api("/sample/edr/_stats")).json<{ requests: number }>()).requests;
    const derived = await waitForRun(await submit("dv-warm-hours", day));
    expect(derived.status).toBe("succeeded");
    expect((await (await api("/sample/edr/_stats")).json<{ requests: number }>()).requests).toBe(before); // nothing downloaded

    const expected = (await output(upstream.id))
      .filter((r) => typeof r.temperature === "number" && r.temperature >= 18)
      .map(row)
      .sort();
    const ours = (await output(derived.id)).map(row).sort();
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(STATIONS.length * 24);
    expect(ours).toEqual(expected);

    const manifest = await (await api(`/v1/jobs/${derived.id}/manifest`)).json<{ inputs: Record<string, unknown>[] }>();
    expect(manifest.inputs).toEqual([
      expect.objectContaining({
        pipeline: "sample-weather",
        dataset: null,
        runId: upstream.id,
        key: upstream.published!.key,
        sha256: upstream.published!.sha256,
      }),
    ]);
  });

  it("reads a gold dataset of the upstream", async () => {
    const day = { from: "2025-07-03", to: "2025-07-04" };
    const upstream = await waitForRun(await submit("sample-weather", { ...day, stations: STATIONS, chunk: "day" }));
    expect(upstream.status).toBe("succeeded");
    const derived = await waitForRun(await submit("dv-station-counts", day));
    expect(derived.status).toBe("succeeded");
    const expected = (await outputOf(upstream.id, "station-quarterly")).map((r) => `${String(r.station_id)} ${Number(r.observations)}`).sort();
    expect((await output(derived.id)).map((r) => `${String(r.station_id)} ${Number(r.observations)}`).sort()).toEqual(expected);
    expect(expected).toEqual(STATIONS.map((s) => `${s} 24`));
  });

  it("fails, saying why, for a window with no published upstream output", async () => {
    const run = await waitForRun(await submit("dv-warm-hours", { from: "2019-01-01", to: "2019-01-02" }));
    expect(run.status).toBe("failed");
    expect(run.reason).toContain("no published sample-weather for 2019-01-01");
  });

  it("runs after each window its upstream delivers (a trigger), reading that window's run", async () => {
    const at = Date.parse("2025-08-11T06:00:00Z");
    const fired = await registryStub(env, "sample-weather").fire("sample-weather", "daily", at);
    expect(fired.runs).toEqual(["sample-weather-daily-2025-08-10"]);
    const upstream = await waitForRun("sample-weather-daily-2025-08-10");
    expect(upstream.status).toBe("succeeded");
    const derived = await waitForRun("dv-warm-hours-after-weather-2025-08-10");
    expect(derived.status).toBe("succeeded");
    const manifest = await (await api(`/v1/jobs/${derived.id}/manifest`)).json<{ inputs: { runId: string }[] }>();
    expect(manifest.inputs.map((i) => i.runId)).toEqual([upstream.id]);
    expect((await getRun(derived.id)).output?.rows).toBe(
      (await output(upstream.id)).filter((r) => typeof r.temperature === "number" && r.temperature >= 18).length,
    );
  });

  it("refuses a derived pipeline whose upstream is not in the catalog, or an unknown gold dataset", () => {
    expect(() => new Catalog([stationCounts])).toThrow(/reads sample-weather, which is not in the catalog/);
    expect(() =>
      defineDerivedPipeline({
        ...stationCounts,
        name: "dv-x",
        from: { pipeline: sampleWeather, dataset: "nope" },
        rowSchema: z.object({ a: z.string() }),
        key: ["a"],
      }),
    ).toThrow(/has no gold dataset nope/);
  });
});
