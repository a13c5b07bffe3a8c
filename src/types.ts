// Types shared by the Worker, the Durable Objects and the queue consumer.
// Vocabulary (see README): a run executes a pipeline; a batch is a slice of its input;
// a task processes one batch in one phase.

export const PHASES = ["ingest", "refine", "silver", "aggregate", "quality"] as const;
export type Phase = (typeof PHASES)[number];

export const RUN_STATUSES = ["queued", "running", "succeeded", "partial", "failed", "cancelled", "timed_out"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ["succeeded", "partial", "failed", "cancelled", "timed_out"];

/** `split`: the task failed for good with several keys and its batch was cut into smaller ones. */
export const TASK_STATUSES = ["pending", "running", "succeeded", "failed", "dead", "split", "cancelled"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** A JSON value: what batch specs and manifests are made of. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** One slice of a run's input, produced by a pipeline's planner. */
/** A batch as a pipeline's planner yields it; sluice numbers them (a BatchSpec). */
export interface PlannedBatch {
  partition: string;
  data: { [key: string]: Json };
}

export interface BatchSpec {
  /** Stable within a run: `b000042`. */
  id: string;
  /** The source partition this batch reads: bronze raw objects are keyed by it. */
  partition: string;
  /** Pipeline-specific description of the slice (stations and window, item ids, ...). */
  data: { [key: string]: Json };
}

/** A file produced by a task and marked done. */
export interface OutputFile {
  key: string;
  rows: number;
  bytes: number;
  sha256: string;
}

/** One version of a run's outputs: its window and its number among that window's versions. */
export interface OutputVersion {
  /** `2024Q1`, `2024-01`, … */
  window: string;
  /** Hive-style partition path of the window: `year=2024/quarter=1`. */
  hive: string;
  /** Counter per pipeline and window, from the registry: 1, 2, … */
  n: number;
}

export type TaskInput =
  | { kind: "ingest"; batch: BatchSpec }
  /** `inputRows`: the rows of the task's input, when known (the consumer runs large tasks one at a time). */
  | { kind: "refine"; batchId: string; rawKey: string; partition: string; data: BatchSpec["data"]; inputRows?: number }
  /** `paramsKey`: the run's params as an R2 object (they can be large: an inline id list); `params` inline (older messages). */
  | { kind: "silver"; batchId: string; refinedKey: string; paramsKey?: string; params?: Json; inputRows?: number }
  | {
      kind: "merge";
      generation: number;
      level: number;
      index: number;
      inputs: OutputFile[];
      outputKey: string;
      final: boolean;
      gold?: boolean;
      changes?: boolean;
    };

export type TaskKind = TaskInput["kind"];

/** The body of a queue message: everything a consumer needs to run one task. */
export interface TaskMessage {
  v: 1;
  runId: string;
  pipeline: string;
  taskId: string;
  phase: Phase;
  /** Task group: `initial`, `retry-1`, `merge-L1`, ... */
  group: string;
  /** Deliveries before the task counts as failed. */
  maxAttempts: number;
  /** The wait before a retry: random up to min(maxSeconds, baseSeconds × 2^(attempt−1)); default 1 and 300. */
  backoff?: { baseSeconds: number; maxSeconds: number };
  /**
   * Failed deliveries of earlier messages of this task: a task that waits for rate-limit budget
   * is sent again as a new message (waiting is not failing), carrying its count of failures.
   */
  priorAttempts?: number;
  /** The output version this task writes into. */
  version: OutputVersion;
  /** Forced download: fetch even when bronze raw exists. */
  force?: boolean;
  input: TaskInput;
}

export type ErrorClass = "retryable" | "permanent";

export interface TaskError {
  type: string;
  message: string;
  class: ErrorClass;
  /** HTTP status from the upstream, when there was one. */
  status?: number;
}

/** One item of a batch that the upstream says is gone (404/410): on the dead list, never retried. */
export interface DeadItem {
  item: string;
  error: TaskError;
}

/** What a consumer reports back to the coordinator for one task. */
export interface TaskResult {
  runId: string;
  taskId: string;
  status: "succeeded" | "failed" | "dead";
  attempts: number;
  startedAt: number;
  finishedAt: number;
  output?: OutputFile;
  /** Rows rejected by validation (silver), counted and sampled, never dropped silently. */
  badRows?: number;
  badRowSamples?: string[];
  /** True when the output already existed (marked done) and no work was repeated. */
  reused?: boolean;
  /** Silver: the batch's profile for the quality checks (a BatchProfile). */
  profile?: Json;
  /** Ingest of a batch of items: the items that were gone. */
  deadItems?: DeadItem[];
  error?: TaskError;
}

/** Per-run settings that override the pipeline's defaults. */
export interface RunOptions {
  /** Share of batches that may be missing (dead or failed) for the run to end `partial`, 0..100. */
  toleratedFailurePercent?: number;
  /** Retry passes per phase over tasks that exhausted their attempts. */
  retryPasses?: number;
  /** Deliveries per task before it counts as failed (queue retries with backoff in between). */
  maxAttempts?: number;
  /** Download again even where bronze raw exists (the backfill's force_reprocess). */
  force?: boolean;
  /** End the run `timed_out` after this long (overrides the pipeline's run timeout). */
  timeoutMs?: number;
}

export interface PhaseCounts {
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
  dead: number;
  split: number;
  cancelled: number;
  total: number;
}

export interface RunOutput {
  key: string;
  rows: number;
  bytes: number;
  sha256: string;
}

export interface RunSummary {
  id: string;
  pipeline: string;
  status: RunStatus;
  phase: Phase | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  reason: string | null;
  /** The output version's name and file, once written. */
  version: string | null;
  /** The latest gold file written: its quality may not have been measured yet, or may have failed. */
  output: RunOutput | null;
  /**
   * The latest output that passed the quality phase (a compaction's, once merged): the one served,
   * marked `<key>.published` in R2. A redrive or re-run leaves it in place until its own passes.
   */
  published: RunOutput | null;
  progress: { done: number; total: number; percent: number };
}

export interface RunView extends Omit<RunSummary, "version"> {
  params: Json;
  options: RunOptions;
  /** Output generation of this run: 1, then one more per redrive or phase re-run. */
  generation: number;
  /** The version the current generation writes: `2024Q1_v2`. */
  version: string | null;
  batches: number;
  /** Batches missing from the output so far (dead, or failed after every retry). */
  lostBatches: number;
  /** Items of batches that the upstream said were gone (404/410). */
  deadItems: number;
  phases: Record<Phase, PhaseCounts & { startedAt: number | null; finishedAt: number | null }>;
  progress: { done: number; total: number; percent: number };
  badRows: number;
  /** Rows silver dropped because their key repeated an earlier row of the batch. */
  duplicateRows: number;
  /** Ids the input listed more than once: each was planned once (a planner using `firstSeen`). */
  duplicateIds: number;
  /** The coordinator's SQLite size and the calls consumers made to it with results. */
  coordinator: { storageBytes: number; reportCalls: number };
  /** What the run spent on the platform, per phase and in all, and its cost at the published prices. */
  usage: RunUsage;
}

export interface TaskView {
  id: string;
  phase: Phase;
  group: string;
  batchId: string | null;
  status: TaskStatus;
  attempts: number;
  rows: number | null;
  outputKey: string | null;
  error: TaskError | null;
  startedAt: number | null;
  finishedAt: number | null;
}

/** What a run spends on the platform (counted by src/costs/meter.ts, priced by src/costs/usage.ts). */
export interface Usage {
  /** Worker invocations: queue consumer batches, each shared by the messages it carried. */
  workerRequests: number;
  /**
   * Worker time (ms): each consumer invocation's span, shared by its messages, as the Worker's
   * clock sees it (it advances at I/O). CPU time is what is billed, and it is at most about this.
   */
  workerMs: number;
  /** Durable Object requests: calls into the run's coordinator and its alarms, calls to the rate limiter and the registry. */
  doRequests: number;
  /** Wall time the run's coordinator was handling something (ms): Durable Object duration. */
  doMs: number;
  sqliteRowsRead: number;
  sqliteRowsWritten: number;
  /** Queue operations: each 64 KB of a message written, read (each delivery) or deleted. */
  queueOperations: number;
  /** R2 class A operations (put, list, multipart create/part/complete) and class B (get, head). */
  r2ClassA: number;
  r2ClassB: number;
  /** Bytes the run wrote to R2 (what it keeps is stored at the monthly rate). */
  r2BytesWritten: number;
}

export interface CostLine {
  item: string;
  units: number;
  unit: string;
  dollars: number;
}

export interface Cost {
  /** The run's one-off cost in dollars. */
  dollars: number;
  lines: CostLine[];
  /** Keeping what the run wrote to R2, per month. */
  storagePerMonth: number;
  prices: { checked: string; currency: string };
}

/** What a run spent, per phase and in all, and what that costs. */
export interface RunUsage {
  phases: Partial<Record<string, Usage>>;
  total: Usage;
  cost: Cost;
}
