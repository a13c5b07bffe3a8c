// sample-stations: the weather upstream's station list (a GeoJSON FeatureCollection) as a small
// dimension — id, name and position — published as a snapshot (window `all`). Gold datasets look
// stations up in it by id (src/gold/lookups.ts): sample-weather-daily's station-day rows carry
// each station's name and position.
import { z } from "zod";
import { check } from "../quality/checks";
import { definePipeline } from "./define";
import { sampleWeather } from "./sample-weather";

const feature = z.object({
  id: z.string(),
  geometry: z.object({ coordinates: z.tuple([z.number(), z.number()]) }),
  properties: z.object({ name: z.string() }),
});

export const sampleStations = definePipeline({
  name: "sample-stations",
  description: "The sample weather upstream's stations (id, name, latitude, longitude): a dimension for lookups.",
  params: z.object({}).strict(),
  // The weather upstream's source: one set of limits for it, whichever pipeline calls it.
  source: sampleWeather.source,
  *plan() {
    yield { partition: "stations/all", data: {} };
  },
  request: (_batch, source) => ({ url: `${source.baseUrl}/collections/hourly/locations` }),
  parse: (body) =>
    z
      .object({ features: z.array(feature) })
      .parse(JSON.parse(body))
      .features.map((f) => ({ station_id: f.id, name: f.properties.name, lat: f.geometry.coordinates[1], lon: f.geometry.coordinates[0] })),
  rowSchema: z.object({ station_id: z.string(), name: z.string(), lat: z.number(), lon: z.number() }),
  key: ["station_id"],
  quality: [check.schema(), check.minRows(1)],
});
