// CoverageJSON (as OGC EDR APIs serve it): one PointSeries coverage per station.
import { hash32 } from "../hash";
import { WEATHER_PARAMETERS, hoursBetween, observation, type SampleStation, type WeatherParameter } from "./weather-data";

const UNITS: Record<WeatherParameter, string> = {
  temperature: "Cel",
  humidity: "%",
  wind_speed: "m/s",
  pressure: "hPa",
  precipitation: "mm",
};

/** Whether a station with an outage reports the hour at `t`. */
export function reportsHour(station: string, t: number, gapStations: readonly string[]): boolean {
  return !gapStations.includes(station) || hash32(`gap|${station}|${t}`) % 40 !== 0;
}

export function coverageCollection(
  stations: readonly SampleStation[],
  startMs: number,
  endMs: number,
  parameters: readonly WeatherParameter[] = WEATHER_PARAMETERS,
  gapStations: readonly string[] = [],
): unknown {
  const all = hoursBetween(startMs, endMs);
  return {
    type: "CoverageCollection",
    domainType: "PointSeries",
    parameters: Object.fromEntries(parameters.map((p) => [p, { type: "Parameter", observedProperty: { label: { en: p } }, unit: { symbol: UNITS[p] } }])),
    referencing: [
      { coordinates: ["x", "y"], system: { type: "GeographicCRS", id: "http://www.opengis.net/def/crs/OGC/1.3/CRS84" } },
      { coordinates: ["t"], system: { type: "TemporalRS", calendar: "Gregorian" } },
    ],
    coverages: stations.map((s) => {
      const hours = all.filter((t) => reportsHour(s.id, t, gapStations));
      const times = hours.map((t) => new Date(t).toISOString().replace(".000Z", "Z"));
      return {
        type: "Coverage",
        id: s.id,
        domain: {
          type: "Domain",
          domainType: "PointSeries",
          axes: { x: { values: [s.lon] }, y: { values: [s.lat] }, t: { values: times } },
        },
        ranges: Object.fromEntries(
          parameters.map((p) => [
            p,
            { type: "NdArray", dataType: "float", axisNames: ["t"], shape: [hours.length], values: hours.map((t) => observation(s.id, t, p)) },
          ]),
        ),
      };
    }),
  };
}
