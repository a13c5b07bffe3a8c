// sample-weather: hourly station observations from an OGC EDR API (CoverageJSON), the workload
// of the weather-station pipelines sluice replaces. It reads the sample upstream.
import { z } from "zod";
import { fnv1a64 } from "../hash";
import { coverageJsonRows, coverageJsonStream } from "../parsers/coveragejson";
import { DEFAULT_STATIONS, WEATHER_PARAMETERS } from "../sample/weather-data";
import { SAMPLE_ORIGIN } from "../upstream/fetch";
import { check } from "../quality/checks";
import { definePipeline, type PlannedBatch } from "./define";
import { MAX_RESPONSE_BYTES, bodyTooLarge } from "./task-limits";
import { CHUNKS, isoDate, windows } from "./windows";

const date = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "expected a date as YYYY-MM-DD")
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && isoDate(Date.parse(`${s}T00:00:00Z`)) === s, "not a calendar date");

export const sampleWeatherParams = z
  .object({
    stations: z
      .array(z.string().regex(/^[0-9]{5}$/, "station ids are 5 digits"))
      .min(1)
      .max(100)
      .refine((a) => new Set(a).size === a.length, "station ids must be unique")
      .default(DEFAULT_STATIONS),
    from: date,
    /** Exclusive. */
    to: date,
    chunk: z.enum(CHUNKS).default("month"),
    /** Stations per upstream request; default: all of them in one request, as EDR APIs are used. */
    stationsPerBatch: z.number().int().min(1).max(100).optional(),
    /** Which observed properties to fetch (the seeds' "products"); the others stay null. */
    products: z
      .array(z.enum(WEATHER_PARAMETERS))
      .min(1)
      .refine((a) => new Set(a).size === a.length, "products must be unique")
      .default([...WEATHER_PARAMETERS]),
    /** Unit of silver's temperature column: a silver-only setting (re-run silver to change it). */
    temperatureUnit: z.enum(["celsius", "fahrenheit"]).default("celsius"),
  })
  .strict()
  .refine((p) => p.from < p.to, { message: "from must be before to", path: ["to"] })
  .refine((p) => Date.parse(p.to) - Date.parse(p.from) <= 100 * 366 * 86_400_000, { message: "at most 100 years per run", path: ["to"] })
  .superRefine((p, ctx) => {
    const stations = Math.min(p.stationsPerBatch ?? p.stations.length, p.stations.length);
    const bytes = stations * CHUNK_HOURS[p.chunk] * BODY_BYTES_PER_ROW;
    if (bytes > MAX_RESPONSE_BYTES) {
      const fit = Math.floor(MAX_RESPONSE_BYTES / (CHUNK_HOURS[p.chunk] * BODY_BYTES_PER_ROW));
      ctx.addIssue({
        code: "custom",
        path: ["stationsPerBatch"],
        message: bodyTooLarge(bytes, MAX_RESPONSE_BYTES, `set stationsPerBatch to at most ${fit} for ${p.chunk} chunks, or use a shorter chunk`),
      });
    }
  });

/** CoverageJSON bytes per hourly row with every product: 43.3 MiB for 114 stations × a leap year (1,001,376 rows). */
const BODY_BYTES_PER_ROW = 46;

/** The most hours a chunk holds (a leap year, a 92-day quarter, a 31-day month). */
const CHUNK_HOURS: Record<(typeof CHUNKS)[number], number> = { day: 24, month: 744, quarter: 2208, year: 8784 };

export type SampleWeatherParams = z.infer<typeof sampleWeatherParams>;

const HOUR = 3_600_000;

const COVERAGE = { keyColumn: "station_id", timeColumn: "observed_at", parameters: WEATHER_PARAMETERS, missingAsNull: true };

const nullableNumber = (min: number, max: number) => z.number().min(min).max(max).nullable();

// Bounds here are physical: a value outside them is a bad row. Plausibility is a quality check.
export const weatherRow = z.object({
  station_id: z.string().regex(/^[0-9]{5}$/),
  observed_at: z.date(),
  temperature: nullableNumber(-130, 140),
  humidity: nullableNumber(0, 100),
  wind_speed: nullableNumber(0, 120),
  pressure: nullableNumber(850, 1090),
  precipitation: nullableNumber(0, 500),
});

const stationsOf = (data: unknown): string[] => {
  const stations = (data as { stations?: unknown }).stations;
  if (!Array.isArray(stations) || !stations.every((s) => typeof s === "string")) throw new Error("batch without stations");
  return stations;
};

/** One request's batch: a group of stations over [start, end), some products or all. */
function weatherBatch(group: string[], start: string, end: string, products: string[]): PlannedBatch {
  const set = group.length === 1 ? group[0]! : `h${fnv1a64(group.join(","))}`;
  const only = products.length === WEATHER_PARAMETERS.length ? "" : `/products=${products.join(",")}`;
  return { partition: `hourly/stations=${set}${only}/start=${start}/end=${end}`, data: { stations: group, start, end, products } };
}

export const sampleWeather = definePipeline({
  name: "sample-weather",
  description: "Hourly weather observations per station from the sample OGC EDR upstream (CoverageJSON).",
  params: sampleWeatherParams,
  source: {
    name: "sample-edr",
    baseUrl: `${SAMPLE_ORIGIN}/sample/edr`,
    rateLimit: [
      { requests: 50, per: "1s" },
      { requests: 100_000, per: "1h" },
    ],
    concurrency: 32,
    timeoutMs: 30_000,
  },
  *plan(params) {
    const stations = [...params.stations].sort();
    const size = params.stationsPerBatch ?? stations.length;
    const groups: string[][] = [];
    for (let i = 0; i < stations.length; i += size) groups.push(stations.slice(i, i + size));
    const products = [...params.products].sort();
    for (const { start, end } of windows(Date.parse(params.from), Date.parse(params.to), params.chunk)) {
      for (const group of groups) yield weatherBatch(group, isoDate(start), isoDate(end), products);
    }
  },
  // A request with a deleted station fails whole (404): halves of the group, named as the plan
  // names a group of that size, so a station alone reuses the raw a one-station run stored.
  split(batch) {
    const stations = stationsOf(batch.data);
    if (stations.length < 2) return null;
    const { start, end, products } = batch.data as { start: string; end: string; products?: string[] };
    const middle = Math.ceil(stations.length / 2);
    return [stations.slice(0, middle), stations.slice(middle)].map((half) => weatherBatch(half, start, end, products ?? [...WEATHER_PARAMETERS]));
  },
  request(batch, source) {
    const { start, end } = batch.data as { start: string; end: string };
    const stations = stationsOf(batch.data);
    const products = Array.isArray(batch.data.products) ? batch.data.products.map(String) : WEATHER_PARAMETERS;
    const query = new URLSearchParams({ datetime: `${start}T00:00:00Z/${end}T00:00:00Z`, "parameter-name": products.join(",") });
    return { url: `${source.baseUrl}/collections/hourly/locations/${stations.join(",")}?${query}` };
  },
  parse: (body) => coverageJsonRows(body, COVERAGE),
  parseStream: (body) => coverageJsonStream(body, COVERAGE),
  rowSchema: weatherRow,
  key: ["station_id", "observed_at"],
  transform(row, params) {
    if (params.temperatureUnit === "fahrenheit" && typeof row.temperature === "number") {
      return { ...row, temperature: Math.round(((row.temperature * 9) / 5) * 10 + 320) / 10 };
    }
    return row;
  },
  quality: (params) => {
    const f = params.temperatureUnit === "fahrenheit";
    return [
      check.schema(),
      check.minRows(1, "batch"),
      ...(params.products.includes("temperature") ? [check.maxNullPercent("temperature", 5)] : []),
      check.minDistinct("station_id", params.stations.length, "warn"),
      check.continuity("station_id", "observed_at", HOUR),
      check.valueRange("temperature", f ? { min: -40, max: 113 } : { min: -40, max: 45 }),
      check.valueRange("wind_speed", { max: 60 }),
      check.valueRange("pressure", { min: 900, max: 1080 }),
    ];
  },
  flagsColumn: true,
  batchWindow: (batch) => ({ start: Date.parse(`${String(batch.data.start)}T00:00:00Z`), end: Date.parse(`${String(batch.data.end)}T00:00:00Z`) }),
  batchKeys: (batch) => stationsOf(batch.data),
  maxAttempts: 5,
  mergeFanIn: 16,
  maxBatches: 20_000,
  // Seed 001's aggregation stage: features per station and quarter for the analysts (the share
  // missing is 1 − temperature_values / observations).
  gold: [
    {
      name: "station-quarterly",
      groupBy: ["station_id"],
      bucket: { column: "observed_at", unit: "quarter", as: "quarter" },
      aggregates: {
        observations: { fn: "count" },
        temperature_values: { fn: "countNonNull", column: "temperature" },
        temperature_mean: { fn: "mean", column: "temperature" },
        temperature_min: { fn: "min", column: "temperature" },
        temperature_max: { fn: "max", column: "temperature" },
        temperature_sd: { fn: "stddev", column: "temperature" },
        temperature_median: { fn: "quantile", column: "temperature", q: 0.5 },
        temperature_p95: { fn: "quantile", column: "temperature", q: 0.95 },
        precipitation_total: { fn: "sum", column: "precipitation" },
        pressure_mean: { fn: "mean", column: "pressure" },
      },
    },
  ],
  schedules: [
    // Every day at 06:00 UTC: yesterday, one batch per station group.
    { name: "daily", cron: "0 6 * * *", window: "previous-day", params: (w) => ({ from: w.from, to: w.to, chunk: "day" }), catchUp: { enabled: true, max: 7 } },
    // Jan/Apr/Jul/Oct 1 at 06:00 UTC: the previous quarter, in monthly chunks.
    {
      name: "quarterly",
      cron: "0 6 1 1,4,7,10 *",
      window: "previous-quarter",
      params: (w) => ({ from: w.from, to: w.to, chunk: "month" }),
      catchUp: { enabled: true, max: 4 },
    },
  ],
  compactions: [{ name: "monthly", cron: "30 6 1 * *", from: "daily", into: "month" }],
  maxConcurrentRuns: 1,
  timeouts: { runMs: 6 * 3_600_000 },
  notify: { url: `${SAMPLE_ORIGIN}/sample/hooks/sample-weather`, on: ["failed", "timed_out"] },
});
