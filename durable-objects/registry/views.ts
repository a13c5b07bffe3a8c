// What the pipeline registry's RPC methods answer: a page of runs, a submit's result, a
// backfill's progress, and the pipeline's state (pause, schedules with their windows, firings).
import type { Json, RunStatus, RunSummary } from "../../src/types";
import type { Firing } from "./store";
import type { TriggerWindow } from "./triggers";
import type { WindowState } from "./windows";

export interface RunPage {
  runs: RunSummary[];
  /** Pass as `before` for the next page. */
  next: string | null;
}

export interface SubmitResult {
  runId: string;
  status: RunStatus | "skipped";
  created: boolean;
}

export interface BackfillWindowResult {
  window: string;
  from: string;
  to: string;
  runId: string;
  status: RunStatus | "starting";
  reason: string | null;
}

export interface BackfillView {
  id: string;
  pipeline: string;
  status: "running" | "succeeded" | "partial" | "failed" | "cancelled";
  maxParallel: number;
  createdAt: string;
  counts: Record<string, number>;
  windows: BackfillWindowResult[];
  spec: Json;
}

export interface PipelineState {
  name: string;
  paused: boolean;
  maxConcurrentRuns: number;
  whenBusy: "queue" | "skip";
  schedules: {
    name: string;
    cron: string;
    window: string;
    catchUp: { enabled: boolean; max: number; attempts: number };
    dependsOnPast: boolean;
    paused: boolean;
    fullRefresh: boolean;
    watermark: string | null;
    nextFiring: string | null;
    windows: WindowState[];
  }[];
  queued: string[];
  running: string[];
  /** Triggers on data, each with its recent windows: delivered, awaited, and the run. */
  triggers: { name: string; after: string[]; windows: TriggerWindow[] }[];
  firings: Firing[];
  backfills: string[];
}
