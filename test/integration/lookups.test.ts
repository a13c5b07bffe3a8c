// Lookups (issue 18, item 3): a gold dataset's rows enriched from a small dimension by key — the
// dimension pipeline's latest published output, read whole by the final merge. Checked with both
// Parquet readers against the upstream's own station list; a dimension never published, or past
// its bound, fails the run saying why; a lookup that names what does not exist is refused when
// the pipeline is defined or the catalog assembled.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Catalog } from "../../src/catalog";
import { defineDerivedPipeline } from "../../src/pipelines/derived";
import { definePipeline } from "../../src/pipelines/define";
import { sampleStations } from "../../src/pipelines/sample-stations";
import { sampleWeather } from "../../src/pipelines/sample-weather";
import type { Lookup } from "../../src/gold/lookups";
import { SAMPLE_STATIONS } from "../../src/sample/weather-data";
import { api, configureSample, registerPipeline, submit, waitForRun } from "../helpers";
import { readBoth } from "../independent-reader";

/** A dimension like sample-stations under another name: in the catalog, never run. */
const neverRun = definePipeline({
  name: "lk-never-run",
  description: "a station dimension no run has published",
  params: z.object({}).strict(),
  source: sampleWeather.source,
  *plan() {
    yield { partition: "stations/all", data: {} };
  },
  request: (_b, source) => ({ url: `${source.baseUrl}/collections/hourly/locations` }),
  parse: () => [],
  rowSchema: z.object({ station_id: z.string(), name: z.string() }),
  key: ["station_id"],
});

/** sample-weather's hours per station, named from a station dimension by `lookup`. */
const hoursPerStation = (name: string, lookup: Lookup) =>
  defineDerivedPipeline({
    name,
    description: "hours per station, with the station's name",
    from: { pipeline: sampleWeather },
    rowSchema: z.object({ station_id: z.string(), observed_at: z.date(), temperature: z.number().nullable() }),
    key: ["station_id", "observed_at"],
    select: (r) => ({ station_id: r.station_id, observed_at: r.observed_at, temperature: typeof r.temperature === "number" ? r.temperature : null }),
    gold: [{ name: "per-station", groupBy: ["station_id"], aggregates: { hours: { fn: "count" }, mean: { fn: "mean", column: "temperature" } }, lookup }],
  });

const named = hoursPerStation("lk-named", { from: sampleStations, on: "station_id", columns: ["name", "lat"] });
const bounded = hoursPerStation("lk-bounded", { from: sampleStations, on: "station_id", columns: ["name"], maxRows: 3 });
const unpublished = hoursPerStation("lk-unpublished", { from: neverRun, on: "station_id", columns: ["name"] });
for (const p of [neverRun, named, bounded, unpublished]) registerPipeline(p);

const STATIONS = ["10000", "10037", "10074"];
const DAY = { from: "2025-09-01", to: "2025-09-02" };

describe("lookups", () => {
  it("adds the dimension's columns to every gold row by key, as the upstream lists them", async () => {
    await configureSample({});
    expect((await waitForRun(await submit("sample-weather", { ...DAY, stations: STATIONS, chunk: "day" }))).status).toBe("succeeded");
    const stations = await waitForRun(await submit("sample-stations", {}));
    expect(stations.status).toBe("succeeded");
    expect(stations.output?.rows).toBe(SAMPLE_STATIONS.length);

    const run = await waitForRun(await submit("lk-named", DAY));
    expect(run.status).toBe("succeeded");
    const rows = await readBoth(new Uint8Array(await (await api(`/v1/jobs/${run.id}/output?dataset=per-station`)).arrayBuffer()));
    expect(rows.map((r) => [r.station_id, r.name, r.lat, Number(r.hours)])).toEqual(
      STATIONS.map((id) => {
        const s = SAMPLE_STATIONS.find((x) => x.id === id)!;
        return [id, s.name, s.lat, 24];
      }),
    );
  });

  it("fails the run, saying why, when the dimension is past its bound or was never published", async () => {
    await configureSample({});
    expect((await waitForRun(await submit("sample-weather", { ...DAY, stations: STATIONS, chunk: "day" }))).status).toBe("succeeded");
    expect((await waitForRun(await submit("sample-stations", {}))).status).toBe("succeeded");

    const tooLarge = await waitForRun(await submit("lk-bounded", DAY));
    expect(tooLarge.status).toBe("failed");
    expect(tooLarge.reason).toMatch(new RegExp(`lookup from sample-stations: all_v\\d+ has ${SAMPLE_STATIONS.length} rows`));
    expect(tooLarge.reason).toContain("at most 3 rows");

    const missing = await waitForRun(await submit("lk-unpublished", DAY));
    expect(missing.status).toBe("failed");
    expect(missing.reason).toContain("lookup from lk-never-run: no published version for window all (run lk-never-run first)");
  });

  it("refuses a lookup that names what does not exist, or a dimension outside the catalog", () => {
    const bad = (lookup: Lookup) => () => hoursPerStation("lk-bad", lookup);
    expect(bad({ from: sampleStations, on: "observed_at", columns: ["name"] })).toThrow(/lookup on observed_at, which is not a groupBy column/);
    expect(bad({ from: sampleStations, on: "station_id", columns: ["city"] })).toThrow(/lookup column city is not a column of sample-stations/);
    expect(bad({ from: sampleStations, on: "station_id", key: "id", columns: ["name"] })).toThrow(/lookup key id is not a column of sample-stations/);
    expect(bad({ from: sampleStations, on: "station_id", columns: ["name"], maxRows: 10_000_000 })).toThrow(/maxRows must be 1\.\.100000/);
    expect(bad({ from: sampleStations, on: "station_id", columns: ["station_id"] })).toThrow(/two output columns share a name/);
    expect(() => new Catalog([sampleWeather, named])).toThrow(/its lookup reads sample-stations, which is not in the catalog/);
  });
});
