// What the flow coordinator answers, and the ids it gives: shared by the Durable Object, the
// routes, the typed client and the dashboard.
import { nameOf, type DateWindow, type ScheduleWindow } from "../pipelines/schedule";
import type { FlowStatus, StepStatus } from "./statuses";

/** `<flow>-<window>` for a run asked for by hand; scheduled runs are `<flow>-<schedule>-<window>`. */
export const flowRunId = (flow: string, window: DateWindow) => `${flow}-${nameOf(window).name.toLowerCase()}`;

/** A step's pipeline run: `<flow run>-<step>`, then `-a2`, `-a3`… for its later attempts. */
export const stepRunId = (flowRun: string, step: string, attempt: number) => `${flowRun}-${step}${attempt > 1 ? `-a${attempt}` : ""}`;

export interface FlowStartRequest {
  /** Given by schedules; by hand, `<flow>-<window>`. */
  runId?: string;
  window: DateWindow;
  trigger: "manual" | "schedule";
  schedule?: string;
  /** Every step downloads again. */
  force?: boolean;
}

/** A step's state in one flow run, as the flow coordinator stores it. */
export interface StepState {
  status: StepStatus;
  /** Runs of the step so far (0 before its first). */
  attempt: number;
  /** The latest attempt's pipeline run (GET /v1/jobs/<runId>). */
  runId: string | null;
  /** That run's own status (`partial` shows here; the step counts it as succeeded). */
  runStatus: string | null;
  startedAt: number | null;
  finishedAt: number | null;
  /** When a `retrying` step's next attempt is due. */
  nextAt: number | null;
  reason: string | null;
}

export interface FlowStepView extends StepState {
  name: string;
  pipeline: string;
  after: string[];
  retries: number;
}

/** A flow run as the flow coordinator stores it. */
export interface FlowRunState {
  id: string;
  window: DateWindow;
  status: FlowStatus;
  trigger: "manual" | "schedule";
  schedule: string | null;
  force: boolean;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  deadline: number | null;
  reason: string | null;
}

export interface FlowRunView extends FlowRunState {
  flow: string;
  steps: FlowStepView[];
}

export interface FlowState {
  name: string;
  description: string;
  timeoutMs: number | null;
  maxConcurrentRuns: number;
  steps: { name: string; pipeline: string; after: string[]; retries: number; retryDelayMs: number }[];
  schedules: { name: string; cron: string; window: ScheduleWindow; paused: boolean; fullRefresh: boolean; nextFiring: string | null }[];
  runs: FlowRunView[];
}
