// A schedule's windows: which to start at a firing, and how far they are settled.
//
// Every window of a schedule gets runs, one per attempt: the first has the window's own id
// (`<pipeline>-<schedule>-<window>`), a retry `…-a2`, `…-a3`. A firing goes through the windows
// after the watermark (the end of the windows that are all settled) up to its own, oldest first:
// a window with no run starts its first; one whose last attempt failed or timed out starts
// another while it has attempts left (catch-up retries it rather than skipping it forever); one
// succeeded, partial, cancelled or out of attempts is settled. With `dependsOnPast`, a window
// starts only once the one before it succeeded: the first that has not holds the rest, which
// wait (and are shown waiting).
import type { Schedule, DateWindow } from "../../src/pipelines/schedule";
import { scheduledRunId, windowFor, windowsSince } from "../../src/pipelines/schedule";
import type { IndexedRun, RegistryStore } from "./store";

/** Runs of one window a schedule starts at most, the first included, unless it says otherwise. */
export const DEFAULT_WINDOW_ATTEMPTS = 3;
export const DEFAULT_CATCH_UP = { enabled: true, max: 7 };

export type WindowStatus = IndexedRun["status"] | "waiting" | "gave_up";

export interface WindowState {
  window: DateWindow;
  /** The last attempt's status; `gave_up` when it failed and no attempt is left; `waiting` for one held by the window before it. */
  status: WindowStatus;
  attempts: number;
  runId: string | null;
}

const retryable = (s: string) => s === "failed" || s === "timed_out";
const succeeded = (s: string) => s === "succeeded" || s === "partial";

/** The run id of attempt `n` (from 1) of a window. */
export function attemptRunId(pipeline: string, schedule: string, window: DateWindow, n: number): string {
  const first = scheduledRunId(pipeline, schedule, window);
  return n === 1 ? first : `${first}-a${n}`;
}

/** One window's state from its runs (oldest first). */
export function windowState(schedule: Schedule, window: DateWindow, runs: IndexedRun[]): WindowState {
  const last = runs.at(-1);
  if (!last) return { window, status: "waiting", attempts: 0, runId: null };
  const attempts = schedule.catchUp?.attempts ?? DEFAULT_WINDOW_ATTEMPTS;
  const status = retryable(last.status) && runs.length >= attempts ? "gave_up" : last.status;
  return { window, status, attempts: runs.length, runId: last.id };
}

/** Whether nothing more will be started for the window: it succeeded, was cancelled, or gave up. */
const settled = (s: WindowStatus) => succeeded(s) || s === "cancelled" || s === "gave_up";

export interface FiringPlan {
  /** Windows to start now, each with the attempt's run id. */
  start: { window: DateWindow; runId: string; attempt: number }[];
  /** Windows held by an earlier one that has not succeeded (dependsOnPast). */
  waiting: DateWindow[];
}

/** What a firing at `scheduledTime` starts, given the schedule's runs so far. */
export function planFiring(store: RegistryStore, pipeline: string, schedule: Schedule, scheduledTime: number): FiringPlan {
  const catchUp = schedule.catchUp ?? DEFAULT_CATCH_UP;
  const current = windowFor(schedule.window, scheduledTime);
  const candidates = catchUp.enabled ? windowsSince(schedule.window, store.watermark(schedule.name) ?? current.from, current) : [current];
  const plan: FiringPlan = { start: [], waiting: [] };
  let held = false;
  for (const window of candidates) {
    if (held) {
      plan.waiting.push(window);
      continue;
    }
    const state = windowState(schedule, window, store.attempts(schedule.name, window.from));
    const startable = state.status === "waiting" || retryable(state.status);
    if (startable && plan.start.length < (catchUp.enabled ? catchUp.max : 1)) {
      plan.start.push({ window, runId: attemptRunId(pipeline, schedule.name, window, state.attempts + 1), attempt: state.attempts + 1 });
    }
    // Later windows wait for this one unless it succeeded.
    if (schedule.dependsOnPast && !succeeded(state.status)) held = true;
  }
  return plan;
}

/**
 * The new watermark of a schedule: past every window after the current one that is settled, up
 * to the first that is not (or, with dependsOnPast, that did not succeed).
 */
export function settledThrough(store: RegistryStore, schedule: Schedule, upTo: DateWindow): string | null {
  const from = store.watermark(schedule.name);
  if (from === null) return null;
  let mark = from;
  for (const window of windowsSince(schedule.window, from, upTo)) {
    const state = windowState(schedule, window, store.attempts(schedule.name, window.from));
    if (!settled(state.status) || (schedule.dependsOnPast && !succeeded(state.status))) break;
    mark = window.to;
  }
  return mark;
}
