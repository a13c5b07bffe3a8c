// Two derived sample pipelines, the processing and ETL stages of seed 002's chain: each reads the
// published gold of the pipeline before it for a window, downloads nothing, and publishes its own.
//   sample-weather-processed  sample-weather's hours, the temperature in °F beside °C
//   sample-weather-daily      the processed hours, with a gold dataset per station and day (named
//                             from the sample-stations dimension)
import { z } from "zod";
import { check } from "../quality/checks";
import { defineDerivedPipeline } from "./derived";
import { sampleWeather } from "./sample-weather";
import { sampleStations } from "./sample-stations";

const number = (v: unknown) => (typeof v === "number" ? v : null);

export const sampleWeatherProcessed = defineDerivedPipeline({
  name: "sample-weather-processed",
  description: "sample-weather's hours for a window, with the temperature in °F (seed 002's process_files).",
  from: { pipeline: sampleWeather },
  rowSchema: z.object({
    station_id: z.string(),
    observed_at: z.date(),
    temperature: z.number().nullable(),
    temperature_f: z.number().nullable(),
    humidity: z.number().nullable(),
  }),
  key: ["station_id", "observed_at"],
  select: (r) => {
    const c = number(r.temperature);
    return {
      station_id: r.station_id,
      observed_at: r.observed_at,
      temperature: c,
      temperature_f: c === null ? null : Math.round(((c * 9) / 5) * 10 + 320) / 10,
      humidity: number(r.humidity),
    };
  },
  quality: [check.minRows(1)],
});

export const sampleWeatherDaily = defineDerivedPipeline({
  name: "sample-weather-daily",
  description: "The processed hours, and per station and day their count, mean, min and max (seed 002's run_etl).",
  from: { pipeline: sampleWeatherProcessed },
  rowSchema: sampleWeatherProcessed.rowSchema,
  key: ["station_id", "observed_at"],
  gold: [
    {
      name: "station-day",
      groupBy: ["station_id"],
      bucket: { column: "observed_at", unit: "day", as: "day" },
      aggregates: {
        hours: { fn: "count" },
        temperature_mean: { fn: "mean", column: "temperature" },
        temperature_min: { fn: "min", column: "temperature" },
        temperature_max: { fn: "max", column: "temperature" },
        temperature_f_mean: { fn: "mean", column: "temperature_f" },
      },
      // Each station's name and position, from the stations dimension's latest published snapshot.
      lookup: { from: sampleStations, on: "station_id", columns: ["name", "lat", "lon"] },
    },
  ],
  quality: [check.minRows(1)],
});
