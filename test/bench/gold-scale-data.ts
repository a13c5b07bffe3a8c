// The gold-scale bench's silver rows (bench section 8): hourly observations of many stations over
// many years, made by a formula that JavaScript and DuckDB's SQL compute alike (integer arithmetic,
// one correctly rounded division), so sluice in workerd and DuckDB aggregate the very same rows
// without 50 million of them crossing between the two.

export const HOUR = 3_600_000;
/** The first hour; batches are 8 stations × a calendar year from here, as sample-weather cuts them. */
export const FROM = Date.UTC(2000, 0, 1);
export const STATIONS_PER_BATCH = 8;

export interface GoldScale {
  stations: number;
  years: number;
}

/** Hours from FROM to the start of year FROM + `years`. */
export const hoursUntil = (years: number) => (Date.UTC(2000 + years, 0, 1) - FROM) / HOUR;

export const stationId = (s: number) => `S${String(s).padStart(4, "0")}`;

/** The row's number: the formula's input (station-major, then hour). */
const index = (scale: GoldScale, s: number, h: number) => s * hoursUntil(scale.years) + h;

/** Null one row in 97; otherwise −20.0 … 40.0. */
export const temperature = (i: number) => (i % 97 === 0 ? null : (((i * 7919) % 601) - 200) / 10);
export const precipitation = (i: number) => ((i * 104729) % 53) / 10;

/** The rows of one batch: stations [first, first + 8) × calendar year `year` (0-based from 2000). */
export function batchRows(scale: GoldScale, first: number, year: number): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  const [from, to] = [hoursUntil(year), hoursUntil(year + 1)];
  for (let s = first; s < Math.min(first + STATIONS_PER_BATCH, scale.stations); s++) {
    for (let h = from; h < to; h++) {
      const i = index(scale, s, h);
      rows.push({ station_id: stationId(s), observed_at: new Date(FROM + h * HOUR), temperature: temperature(i), precipitation: precipitation(i) });
    }
  }
  return rows;
}

/** The same rows in DuckDB's SQL. */
export function duckdbRows(scale: GoldScale): string {
  const hours = hoursUntil(scale.years);
  return `SELECT printf('S%04d', s) AS station_id, TIMESTAMP '2000-01-01' + to_hours(h) AS observed_at,
      CASE WHEN (s * ${hours} + h) % 97 = 0 THEN NULL ELSE (((s * ${hours} + h) * 7919) % 601 - 200)::DOUBLE / 10 END AS temperature,
      (((s * ${hours} + h) * 104729) % 53)::DOUBLE / 10 AS precipitation
    FROM range(0, ${scale.stations}) t1(s), range(0, ${hours}) t2(h)`;
}

/** The dataset's aggregates, as DuckDB computes them over the rows above (per station and UTC day). */
export const DUCKDB_DAILY = `station_id, date_trunc('day', observed_at) AS day, count(*) AS n, count(temperature) AS t_n,
  avg(temperature) AS t_mean, min(temperature) AS t_min, max(temperature) AS t_max, stddev_samp(temperature) AS t_sd,
  sum(precipitation) AS p_sum`;
