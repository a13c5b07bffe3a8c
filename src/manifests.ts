// Manifests: JSON in R2 that describe a run, each task and the aggregation. With the
// coordinator's SQLite they are the record of what happened; nothing lives only in memory.
import { layout } from "./r2/layout";
import type { DeadItem, Json, OutputFile, RunUsage, RunView, TaskError, TaskMessage } from "./types";

export interface TaskManifest {
  kind: "task";
  runId: string;
  taskId: string;
  phase: string;
  group: string;
  input: TaskMessage["input"];
  status: "succeeded" | "failed" | "dead";
  output: OutputFile | null;
  rows: number | null;
  badRows: number;
  badRowSamples: string[];
  /** Items of the batch that were gone upstream. */
  deadItems: DeadItem[];
  reused: boolean;
  error: TaskError | null;
  attempts: number;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}

export interface AggregateManifest {
  kind: "aggregate";
  runId: string;
  pipeline: string;
  /** The output version: `2024Q1_v2`. */
  version: string;
  /** Its number, which names this manifest (`aggregate-v<n>.json`). */
  generation: number;
  inputs: { batchId: string; key: string; rows: number; sha256: string }[];
  levels: { level: number; tasks: number; files: number }[];
  totalRows: number;
  output: OutputFile;
  writtenAt: string;
}

export interface RunManifest {
  kind: "run";
  runId: string;
  pipeline: string;
  /** A derived pipeline's lineage: the published upstream objects its run read (run, version, key, sha256). */
  inputs?: unknown[];
  /** A pipeline fed by changes: the history version its tables were built on, and what the run applied. */
  changes?: unknown;
  params: Json;
  options: RunView["options"];
  generation: number;
  version: string | null;
  status: RunView["status"];
  reason: string | null;
  batches: number;
  lostBatches: number;
  phases: RunView["phases"];
  output: RunView["output"];
  badRows: number;
  duplicateRows: number;
  duplicateIds: number;
  dead: { taskId: string; batchId: string | null; error: TaskError | null }[];
  /** Items of batches that were gone upstream (at most 10,000 listed). */
  deadItems?: { taskId: string; batchId: string; item: string; error: TaskError }[];
  failed: { taskId: string; batchId: string | null; error: TaskError | null }[];
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  writtenAt: string;
  /** What the run had spent on the platform when this was written, and its cost (src/costs). */
  usage?: RunUsage;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function runManifest(view: RunView, dead: RunManifest["dead"], failed: RunManifest["failed"], now: number): RunManifest {
  return {
    kind: "run",
    runId: view.id,
    pipeline: view.pipeline,
    params: view.params,
    options: view.options,
    generation: view.generation,
    version: view.version,
    status: view.status,
    reason: view.reason,
    batches: view.batches,
    lostBatches: view.lostBatches,
    phases: view.phases,
    output: view.output,
    badRows: view.badRows,
    duplicateRows: view.duplicateRows,
    duplicateIds: view.duplicateIds,
    dead,
    failed,
    createdAt: iso(view.createdAt)!,
    startedAt: iso(view.startedAt),
    finishedAt: iso(view.finishedAt),
    writtenAt: new Date(now).toISOString(),
    usage: view.usage,
  };
}

export async function putJson(bucket: R2Bucket, key: string, value: unknown): Promise<void> {
  await bucket.put(key, JSON.stringify(value, null, 2), { httpMetadata: { contentType: "application/json" } });
}

export const writeRunManifest = (bucket: R2Bucket, m: RunManifest) => putJson(bucket, layout.runManifest(m.runId), m);
export const writeTaskManifest = (bucket: R2Bucket, m: TaskManifest) => putJson(bucket, layout.taskManifest(m.runId, m.taskId), m);
export const writeAggregateManifest = (bucket: R2Bucket, m: AggregateManifest) => putJson(bucket, layout.aggregateManifest(m.runId, m.generation), m);
