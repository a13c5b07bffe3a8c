// Schedules: cron expressions (UTC, as Workers cron is) and the window each firing covers.
import { Cron } from "croner";
import { isoDate, nextBoundary, unitStart, windowOf, type RunWindow } from "./windows";

export const SCHEDULE_WINDOWS = ["previous-day", "previous-month", "previous-quarter", "previous-year"] as const;
export type ScheduleWindow = (typeof SCHEDULE_WINDOWS)[number];

export interface Schedule {
  /** `daily`, `quarterly`: part of the scheduled runs' ids. */
  name: string;
  /** Five-field cron, UTC. Must also be listed in wrangler.toml's `[triggers] crons`. */
  cron: string;
  /** What a firing covers, relative to its scheduled time. */
  window: ScheduleWindow;
  /** The run's params for one window ([from, to) as YYYY-MM-DD). */
  params(window: { from: string; to: string }): unknown;
  /**
   * Start the windows missed since the last settled one, oldest first, at most `max` per firing;
   * a window whose run failed or timed out is tried again at the next firing, up to `attempts`
   * runs in all (default 3). Default: on, 7.
   */
  catchUp?: { enabled: boolean; max: number; attempts?: number };
  /** Start a window only once the window before it succeeded (Airflow's `depends_on_past`); later ones wait. */
  dependsOnPast?: boolean;
  /** Paused until someone resumes it (`POST /v1/pipelines/<name>/schedules/<schedule>/resume`); per environment with `SLUICE_SCHEDULES`. */
  paused?: boolean;
  /** Its runs download everything again (`force`), whatever bronze holds: a weekly full refresh. */
  fullRefresh?: boolean;
}

/**
 * A run started by data, not by a clock: once each pipeline in `after` has a run of a window
 * that succeeded (or ended partial) — from a schedule, a catch-up or a backfill — this pipeline
 * runs that window, once (its id comes from the trigger and the window). A window some of them
 * have not delivered waits, and is shown waiting.
 */
export interface Trigger {
  name: string;
  after: string[];
  /** The run's params for the window ([from, to) as YYYY-MM-DD). */
  params(window: { from: string; to: string }): unknown;
}

/** A scheduled job that merges the outputs of another schedule's runs (the small-files problem). */
export interface Compaction {
  name: string;
  cron: string;
  /** The schedule whose outputs are merged. */
  from: string;
  /** Merge the previous month's or quarter's outputs into one file. */
  into: "month" | "quarter";
}

const UNIT: Record<ScheduleWindow, "day" | "month" | "quarter" | "year"> = {
  "previous-day": "day",
  "previous-month": "month",
  "previous-quarter": "quarter",
  "previous-year": "year",
};

const startOf = (ms: number, unit: "day" | "month" | "quarter" | "year") => unitStart(ms, unit);

function previousStart(ms: number, unit: "day" | "month" | "quarter" | "year"): number {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  switch (unit) {
    case "day":
      return Date.UTC(y, m, d.getUTCDate() - 1);
    case "month":
      return Date.UTC(y, m - 1, 1);
    case "quarter":
      return Date.UTC(y, m - 3, 1);
    case "year":
      return Date.UTC(y - 1, 0, 1);
  }
}

export interface DateWindow {
  from: string;
  to: string;
}

/** The window a firing at `scheduledTime` covers: the whole unit before the one it falls in. */
export function windowFor(kind: ScheduleWindow, scheduledTime: number): DateWindow {
  const end = startOf(scheduledTime, UNIT[kind]);
  return { from: isoDate(previousStart(end, UNIT[kind])), to: isoDate(end) };
}

/** Consecutive windows after `afterTo` (exclusive) up to and including `last`, oldest first. */
export function windowsSince(kind: ScheduleWindow, afterTo: string | null, last: DateWindow): DateWindow[] {
  if (afterTo === null) return [last];
  if (afterTo >= last.to) return [];
  const out: DateWindow[] = [];
  for (let start = Date.parse(`${afterTo}T00:00:00Z`); isoDate(start) < last.to;) {
    const end = nextBoundary(start, UNIT[kind]);
    out.push({ from: isoDate(start), to: isoDate(end) });
    start = end;
  }
  return out;
}

/** The window of `kind` (a whole day, month, quarter or year) that the day `day` (YYYY-MM-DD) falls in. */
export function windowContaining(kind: ScheduleWindow, day: string): DateWindow {
  const start = startOf(Date.parse(`${day}T00:00:00Z`), UNIT[kind]);
  return { from: isoDate(start), to: isoDate(nextBoundary(start, UNIT[kind])) };
}

/** The windows a compaction merges: the previous month's or quarter's. */
export const compactionWindow = (c: Compaction): ScheduleWindow => (c.into === "month" ? "previous-month" : "previous-quarter");

export function nameOf(window: DateWindow): RunWindow {
  return windowOf(window.from, window.to);
}

/** `sample-weather-daily-2026-11-21`, `sample-weather-quarterly-2024Q1`. */
export function scheduledRunId(pipeline: string, schedule: string, window: DateWindow): string {
  return `${pipeline}-${schedule}-${nameOf(window).name.toLowerCase()}`;
}

/** The next time a cron expression fires after `after` (UTC); throws on an invalid expression. */
export function nextFiring(cron: string, after: Date): Date | null {
  return new Cron(cron, { timezone: "UTC", paused: true }).nextRun(after);
}
