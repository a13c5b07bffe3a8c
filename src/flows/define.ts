// defineFlow: steps that are runs of pipelines, chained by `after` edges, run together for one
// window — what an Airflow DAG or a Databricks job does for the pipelines it orchestrates. (A
// "job" is already a run here, so the chain is a flow.) Steps with no path between them run in
// parallel; a step starts once every step it comes after has succeeded. A flow run has a
// deterministic id per window (`<flow>-<window>`), a timeout, retries per step, notifications,
// cancel and re-run from the steps that did not succeed. The graph arithmetic is in graph.ts; the
// runs live in durable-objects/flow-coordinator.ts.
import { checkNotify, type Notify } from "../pipelines/define";
import { nextFiring, SCHEDULE_WINDOWS, type DateWindow, type ScheduleWindow } from "../pipelines/schedule";
import { durationMs, type Duration } from "../upstream/limits";
import { stepOrder } from "./graph";

export { FLOW_STATUSES, STEP_STATUSES, TERMINAL_FLOW_STATUSES, type FlowStatus, type StepStatus } from "./statuses";
import type { FlowStatus } from "./statuses";

/** What a flow's webhook can be called on: the flow run's statuses, and a step that failed for good. */
export type FlowEvent = Exclude<FlowStatus, "queued"> | "step_failed";
export type FlowNotify = Omit<Notify, "on"> & { on?: FlowEvent[] };

export interface FlowStepDefinition {
  /** The pipeline this step runs (by name; it must be in the same catalog). */
  pipeline: string;
  /** Steps that must succeed first (a run that ended `partial` counts: its output was published). */
  after?: string[];
  /** The step's run params for the flow's window ([from, to) as YYYY-MM-DD). */
  params(window: DateWindow): unknown;
  /** Runs of this step after the first that failed or timed out (default 0): seed 004's "1 retry for generate_data". */
  retries?: number;
  /** The wait before each of them (default none), e.g. "60s". */
  retryDelay?: Duration;
}

export interface FlowSchedule {
  /** Part of the scheduled runs' ids: `<flow>-<window>` for every schedule (one run per window). */
  name: string;
  /** Five-field cron, UTC (derived into wrangler.toml's crons like pipelines' schedules). */
  cron: string;
  window: ScheduleWindow;
  /** Paused until someone resumes it; per environment with `SLUICE_SCHEDULES` ("<flow>/<schedule>"). */
  paused?: boolean;
  /** Every step downloads again (`force`), whatever bronze holds: a weekly full refresh. */
  fullRefresh?: boolean;
}

export interface FlowDefinition {
  name: string;
  description?: string;
  /** By name: `{ generate: {...}, orders: { after: ["generate"], ... } }`. */
  steps: Record<string, FlowStepDefinition>;
  schedules?: FlowSchedule[];
  /** A flow run still going after this ends `timed_out`, and its running steps are cancelled (e.g. "3h"). */
  timeout?: Duration;
  /** Runs of this flow at once; a later one waits its turn (default 1: no overlapping runs). */
  maxConcurrentRuns?: number;
  /** Webhooks, each on the events it lists (default: failed, timed_out). */
  notify?: FlowNotify | FlowNotify[];
}

export interface FlowStep extends Omit<FlowStepDefinition, "after" | "retries" | "retryDelay"> {
  name: string;
  after: string[];
  retries: number;
  retryDelayMs: number;
}

export interface Flow {
  name: string;
  description: string;
  /** In an order where every step comes after those it needs. */
  steps: FlowStep[];
  schedules: FlowSchedule[];
  timeoutMs: number | null;
  maxConcurrentRuns: number;
  notify: (Omit<Notify, "on"> & { on: FlowEvent[] })[];
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;

/** Checks a flow's definition (names, edges, no cycle, schedules); throws naming what is wrong. */
export function defineFlow(def: FlowDefinition): Flow {
  const where = `flow ${def.name}`;
  if (!NAME.test(def.name)) throw new Error(`${where}: a flow's name is lowercase letters, digits and dashes`);
  const entries = Object.entries(def.steps);
  if (entries.length === 0) throw new Error(`${where}: a flow has at least one step`);
  const steps: FlowStep[] = entries.map(([name, s]) => {
    if (!NAME.test(name)) throw new Error(`${where}: step "${name}": a step's name is lowercase letters, digits and dashes`);
    const retries = s.retries ?? 0;
    if (!Number.isInteger(retries) || retries < 0 || retries > 10) throw new Error(`${where}, step ${name}: retries must be a whole number from 0 to 10`);
    for (const a of s.after ?? []) if (!(a in def.steps)) throw new Error(`${where}, step ${name}: comes after "${a}", which is not a step of the flow`);
    return {
      name,
      pipeline: s.pipeline,
      params: s.params,
      after: [...new Set(s.after ?? [])],
      retries,
      retryDelayMs: s.retryDelay ? durationMs(s.retryDelay) : 0,
    };
  });
  const names = new Set<string>();
  for (const s of def.schedules ?? []) {
    if (!NAME.test(s.name)) throw new Error(`${where}: schedule "${s.name}": lowercase letters, digits and dashes`);
    if (names.has(s.name)) throw new Error(`${where}: two schedules are named ${s.name}`);
    names.add(s.name);
    if (!(SCHEDULE_WINDOWS as readonly string[]).includes(s.window))
      throw new Error(`${where}, schedule ${s.name}: window is one of ${SCHEDULE_WINDOWS.join(", ")}`);
    try {
      nextFiring(s.cron, new Date(0));
    } catch {
      throw new Error(`${where}, schedule ${s.name}: "${s.cron}" is not a five-field cron expression`);
    }
  }
  checkNotify(where, def.notify);
  const maxConcurrentRuns = def.maxConcurrentRuns ?? 1;
  if (!Number.isInteger(maxConcurrentRuns) || maxConcurrentRuns < 1) throw new Error(`${where}: maxConcurrentRuns must be a whole number ≥ 1`);
  return {
    name: def.name,
    description: def.description ?? "",
    steps: stepOrder(def.name, steps),
    schedules: def.schedules ?? [],
    timeoutMs: def.timeout ? durationMs(def.timeout) : null,
    maxConcurrentRuns,
    notify: (def.notify === undefined ? [] : Array.isArray(def.notify) ? def.notify : [def.notify]).map((n) => ({ ...n, on: n.on ?? ["failed", "timed_out"] })),
  };
}
