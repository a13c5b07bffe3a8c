// The sample upstream's data: deterministic hourly observations for a fixed set of stations.
// The same (station, hour, parameter) always gives the same value, so tests and the demo can
// compare sluice's output with what the upstream serves.
import { hash32 } from "../hash";

export const WEATHER_PARAMETERS = ["temperature", "humidity", "wind_speed", "pressure", "precipitation"] as const;
export type WeatherParameter = (typeof WEATHER_PARAMETERS)[number];

export interface SampleStation {
  id: string;
  name: string;
  lat: number;
  lon: number;
}

const NAMES = [
  "Aachen",
  "Berlin-Dahlem",
  "Bremen",
  "Dresden",
  "Emden",
  "Frankfurt",
  "Görlitz",
  "Hamburg",
  "Kiel",
  "Leipzig",
  "München",
  "Norderney",
  "Potsdam",
  "Rostock",
  "Stuttgart",
  "Zugspitze",
];

export const SAMPLE_STATIONS: readonly SampleStation[] = NAMES.map((name, i) => ({
  id: String(10_000 + i * 37).padStart(5, "0"),
  name,
  lat: 47.4 + ((i * 7) % 16) * 0.45,
  lon: 6.1 + ((i * 5) % 16) * 0.55,
}));

/** The eight stations the old pipelines were sized by: the sample pipeline's default. */
export const DEFAULT_STATIONS = SAMPLE_STATIONS.slice(0, 8).map((s) => s.id);

const HOUR = 3_600_000;

function unit(station: string, hour: number, parameter: string): number {
  return hash32(`${station}|${hour}|${parameter}`) / 0x1_0000_0000;
}

/** One observation; null for the few values a real station fails to report (~0.5%). */
export function observation(station: string, atMs: number, parameter: WeatherParameter): number | null {
  const hour = Math.floor(atMs / HOUR);
  if (unit(station, hour, `${parameter}:null`) < 0.005) return null;
  const u = unit(station, hour, parameter);
  const day = (atMs / 86_400_000) % 365.25;
  const season = Math.sin(((day - 110) / 365.25) * 2 * Math.PI);
  const diurnal = Math.sin((((hour % 24) - 9) / 24) * 2 * Math.PI);
  const offset = (hash32(station) % 100) / 25;
  const round = (v: number) => Math.round(v * 10) / 10;
  switch (parameter) {
    case "temperature":
      return round(9 + 10 * season + 4 * diurnal - offset + (u - 0.5) * 6);
    case "humidity":
      return round(Math.min(100, Math.max(5, 75 - 12 * diurnal - 5 * season + (u - 0.5) * 30)));
    case "wind_speed":
      return round(Math.max(0, 4 + offset + (u - 0.3) * 8));
    case "pressure":
      return round(1013 + 12 * Math.sin(hour / 37 + offset) + (u - 0.5) * 6);
    case "precipitation":
      return u < 0.85 ? 0 : round((u - 0.85) * 40);
  }
}

export function hoursBetween(startMs: number, endMs: number): number[] {
  const first = Math.ceil(startMs / HOUR) * HOUR;
  const hours: number[] = [];
  for (let t = first; t < endMs; t += HOUR) hours.push(t);
  return hours;
}
