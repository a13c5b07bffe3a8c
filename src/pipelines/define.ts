// definePipeline: a pipeline is a small, typed TypeScript definition. sluice's core (the
// coordinator and the consumer) only ever sees the `Pipeline` this returns.
import { z } from "zod";
import { columnsFromZod, type ColumnSpec, type Row, type RowSchema } from "../arrow/columns";
import type { BatchSpec, Phase, PlannedBatch, RunStatus } from "../types";
import type { Compaction, Schedule, Trigger } from "./schedule";
import type { GoldDataset } from "../gold/aggregates";
import { checkGold } from "../gold/check";
import { checkChanges, type ChangesDefinition } from "../gold/changes";
import type { Paginate } from "../upstream/pagination";
import { windowOf, type RunWindow } from "./windows";
import { FLAGS_COLUMN, type QualityCheck } from "../quality/checks";
import { checkRateLimit, type RateLimit } from "../upstream/limits";
import { halveByKeys } from "./split";

export type NotifyEvent = RunStatus | "quality_warning";

/**
 * Who hears when a run ends with one of `on` (default: failed and timed_out): a webhook (`url`)
 * or an email (`email`). With `signingSecret` (the name of a Worker secret), each webhook
 * delivery carries `sluice-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`,
 * so the receiver can tell it came from this deployment and is fresh; `auth` sends a header
 * whose value is read from a secret. An email goes through the Worker's `send_email` binding
 * `SLUICE_EMAIL`; where it is not bound (local runs, tests) the message is recorded, not sent.
 */
export interface Notify {
  /** A webhook: the event POSTed as JSON. */
  url?: string;
  /** Or an email: a subject and a plain-text summary of the event with its links. */
  email?: { to: string | string[]; from: string };
  /** Run statuses that call it, and `quality_warning`: a run ended with a `warn` check failing. */
  on?: NotifyEvent[];
  signingSecret?: string;
  auth?: { header: string; secret: string; scheme?: string };
}

/** The phases whose tasks are retried (quality runs in the coordinator). */
export const RETRIED_PHASES = ["ingest", "refine", "silver", "aggregate"] as const;
export type RetriedPhase = (typeof RETRIED_PHASES)[number];

export interface RetryPolicy {
  /** Attempts per task, the first included. */
  attempts: number;
  /** Passes over the phase's failed tasks once all have ended. */
  passes: number;
  /** The wait before attempt n+1: random in [1, min(maxSeconds, baseSeconds × 2^(n−1))]. */
  backoff: { baseSeconds: number; maxSeconds: number };
}

const DEFAULT_BACKOFF = { baseSeconds: 1, maxSeconds: 300 };

/** Merge tasks combine this many files each unless a pipeline says otherwise. */
export const DEFAULT_MERGE_FAN_IN = 16;

export type { RateLimit, LimitWindow } from "../upstream/limits";

export interface Source {
  /** Names the upstream: its rate limiter and its bronze/raw folder. Runs that share it share the limit. */
  name: string;
  baseUrl: string;
  /**
   * Every window the upstream enforces: `[{ requests: 200, per: "1s" }, { requests: 1000, per: "1h" }]`.
   * Shared by every pipeline and run of this deployment that names the source.
   */
  rateLimit: RateLimit;
  /** Requests in flight against the upstream at once, across every consumer. */
  concurrency: number;
  /** Per-request timeout. */
  timeoutMs: number;
  /**
   * A failed page or item (5xx, 429, timeout, unparsable body) is retried inside its task, with
   * backoff and jitter, up to `attempts` times while the task has run less than `budgetMs`;
   * after that the task is retried whole. Defaults: 4 attempts, 120 s.
   */
  retry?: { attempts?: number; budgetMs?: number };
  /**
   * A response body larger than this fails its task with a permanent error (default 32 MiB: a
   * consumer isolate has 128 MB, shared by the messages of its batch).
   */
  maxResponseBytes?: number;
  /**
   * A header sent with every request, its value read from a Worker secret by name (`wrangler
   * secret put NAME`). The value is never written to R2, manifests, logs or error bodies.
   */
  auth?: { header: string; secret: string; scheme?: string };
}

export interface UpstreamRequest {
  url: string;
  headers?: Record<string, string>;
}

export type { PlannedBatch } from "../types";

/** What a streamed planner may read. */
export interface PlanContext {
  bucket: R2Bucket;
  /**
   * True the first time this run's plan lists `id`, false for a repeat: plan each id once (the
   * repeats are counted in the run's `duplicateIds`). Kept in the coordinator's SQLite, so a
   * million ids cost no memory.
   */
  firstSeen(id: string): boolean;
}

export interface PipelineDefinition<Params> {
  name: string;
  description: string;
  /** Validates `params` of `POST /v1/jobs`; documents them. */
  params: z.ZodType<Params>;
  source: Source;
  /** Cut the run's input into batches. Must be deterministic for the same params. */
  plan?(params: Params): Iterable<PlannedBatch>;
  /**
   * Or cut it while reading a list (an R2 object of ids, …): batches are stored as they come,
   * so a million ids never sit in memory at once. Give `plan` or `planStream`, not both.
   */
  planStream?(params: Params, ctx: PlanContext): AsyncIterable<PlannedBatch>;
  /** Several items per batch, each its own (paginated) request; a 404/410 item goes to the dead list alone. */
  items?(batch: BatchSpec, source: Source): { item: string; request: UpstreamRequest }[];
  /** The upstream request for one batch (or give `items`). */
  request?(batch: BatchSpec, source: Source): UpstreamRequest;
  /**
   * Raw body (one page) → refined rows (bronze refined): an array, or a generator, whose rows
   * refine writes a row group at a time without ever holding them all (a large body's rows).
   */
  parse(body: string, batch: BatchSpec): Iterable<Row>;
  /**
   * Or, for a source without pages, the rows of a body read as it streams, yielded in pieces
   * (each an array or a generator of rows: one coverage's, one record list's), so a body too
   * large to parse whole is never held (`coverageJsonStream`). Refine and ingest's check use it
   * when given.
   */
  parseStream?(body: AsyncIterable<Uint8Array>, batch: BatchSpec): AsyncIterable<Iterable<Row>>;
  /** Ask for more pages after each one (cursor, offset, Link header): each page is a rate-limited request. */
  paginate?: Paginate;
  /** Pages per batch at most (default 1,000): a runaway cursor fails the task. */
  maxPages?: number;
  /** The silver row: validates each row and decides the Parquet columns. */
  rowSchema: RowSchema;
  /** Silver transform applied to each refined row before validation (units, derived fields). */
  transform?(row: Row, params: Params): Row;
  /** Quality checks run after aggregation; may depend on the run's params. */
  quality?: QualityCheck[] | ((params: Params) => QualityCheck[]);
  /** A batch's time window (for continuity checks and partial windows). */
  batchWindow?(batch: BatchSpec): { start: number; end: number };
  /** The key values a batch asked for (for continuity checks, and to split a failing batch). */
  batchKeys?(batch: BatchSpec): string[];
  /**
   * A batch whose request failed for good, cut into smaller batches so the keys that fail stand
   * alone (bisect on error): the pieces run, and those that fail again with several keys are cut
   * again. Default, for a pipeline with one request per batch: its `batchKeys` halved, when the
   * batch's data holds them as a list; each half in the partition `<partition>/keys=<…>`.
   * Return null to leave the batch dead.
   */
  split?(batch: BatchSpec): PlannedBatch[] | null;
  /** Columns that identify a row: silver drops duplicates by them and sorts by them. */
  key: string[];
  /** Attempts per task, first included (every phase; `retries` may say otherwise for one). */
  maxAttempts?: number;
  /** Share of batches that may fail (dead or exhausted) before the run counts as failed, 0..100. */
  toleratedFailurePercent?: number;
  /** Retry passes per phase over the tasks that failed after every attempt. */
  retryPasses?: number;
  /**
   * Retries of one phase, where it differs from `maxAttempts` and `retryPasses`: its attempts
   * per task, its retry passes, and the backoff between attempts (full jitter, doubling from
   * `baseSeconds` up to `maxSeconds`). `{ silver: { attempts: 1, passes: 0 } }` never retries silver.
   */
  retries?: Partial<Record<RetriedPhase, Partial<RetryPolicy>>>;
  /** Files merged by one aggregation task. */
  mergeFanIn?: number;
  /** Largest number of batches a run may plan. */
  maxBatches?: number;
  /** The window a run covers, naming its output versions; default: from `from`/`to` params. */
  window?(params: Params): RunWindow;
  /** Add the `quality_flags` column (default: when `quality` is a list with a valueRange check). */
  flagsColumn?: boolean;
  /** Cron schedules and the window each firing covers. */
  schedules?: Schedule[];
  /** Runs started by data: when the pipelines a trigger names have each succeeded for a window. */
  triggers?: Trigger[];
  /** Gold datasets computed from silver in the same run (src/gold/aggregates.ts): group-bys with time buckets and aggregates. */
  gold?: GoldDataset[];
  /** Silver rows are changes of keyed rows: each run also writes the `current` and `history` tables (src/gold/changes.ts). */
  changes?: ChangesDefinition;
  /** Scheduled merges of a schedule's small outputs into monthly or quarterly files. */
  compactions?: Compaction[];
  /** Runs of this pipeline at once (manual and scheduled; backfills have their own `max_parallel`). Default 1. */
  maxConcurrentRuns?: number;
  /** A run submitted while the pipeline is busy waits (`queue`, default) or is refused (`skip`). */
  whenBusy?: "queue" | "skip";
  /** A run, or one phase of it, running longer than this ends `timed_out`. */
  timeouts?: { runMs?: number; phaseMs?: Partial<Record<Phase, number>> };
  /** Webhook called when a run ends with one of `on` (default: failed and timed_out). */
  /** Webhooks called when a run ends: one target, or several each with its own events. */
  notify?: Notify | Notify[];
}

export interface Pipeline {
  name: string;
  description: string;
  paramsSchema: z.ZodType;
  source: Source;
  /** True when batches come from a stream (`planStream`): they cannot be counted up front. */
  streamed: boolean;
  /** The plan of a pipeline with `plan` (throws for a streamed one). */
  plan(params: unknown): Iterable<PlannedBatch>;
  /** Either way, as a stream. */
  planStream(params: unknown, ctx: PlanContext): AsyncIterable<PlannedBatch>;
  items: ((batch: BatchSpec) => { item: string; request: UpstreamRequest }[]) | null;
  request(batch: BatchSpec): UpstreamRequest;
  parse(body: string, batch: BatchSpec): Iterable<Row>;
  parseStream: ((body: AsyncIterable<Uint8Array>, batch: BatchSpec) => AsyncIterable<Iterable<Row>>) | null;
  paginate: Paginate | null;
  maxPages: number;
  rowSchema: RowSchema;
  key: string[];
  /** The silver transform for one run's params (parsed once). */
  transformer(params: unknown): (row: Row) => Row;
  quality(params: unknown): QualityCheck[];
  batchWindow(batch: BatchSpec): { start: number; end: number } | undefined;
  batchKeys(batch: BatchSpec): string[] | undefined;
  /** The pieces a batch that failed for good is cut into, or null (see `PipelineDefinition.split`). */
  split(batch: BatchSpec): PlannedBatch[] | null;
  /** Silver columns: the row schema's, plus `quality_flags` when values are range-checked. */
  columns: ColumnSpec[];
  /** Refined columns: the silver columns, all nullable (nothing is validated yet). */
  refinedColumns: ColumnSpec[];
  maxAttempts: number;
  toleratedFailurePercent: number;
  retryPasses: number;
  /** Each phase's retries: the pipeline's defaults with `retries` applied. */
  retries: Record<RetriedPhase, RetryPolicy>;
  mergeFanIn: number;
  maxBatches: number;
  window(params: unknown): RunWindow;
  schedules: Schedule[];
  triggers: Trigger[];
  gold: GoldDataset[];
  changes: ChangesDefinition | null;
  compactions: Compaction[];
  maxConcurrentRuns: number;
  whenBusy: "queue" | "skip";
  timeouts: { runMs?: number; phaseMs: Partial<Record<Phase, number>> };
  notify: (Notify & { on: NotifyEvent[] })[];
  /** A derived pipeline (src/pipelines/derived.ts): the published dataset it reads, and its row mapping; null for an HTTP source. */
  derived: { pipeline: string; dataset: string | null; select(row: Row): Row | null } | null;
}

const EMAIL = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;

/** Throws unless each target is a webhook (`url`) or an email (`email` with valid addresses), not both. */
type Target = Pick<Notify, "url" | "email">;
export function checkNotify(where: string, notify: Target | Target[] | undefined): void {
  for (const n of notify === undefined ? [] : Array.isArray(notify) ? notify : [notify]) {
    if ((n.url === undefined) === (n.email === undefined)) throw new Error(`${where}: each notify target has a url or an email, not both`);
    if (n.email) {
      const to = Array.isArray(n.email.to) ? n.email.to : [n.email.to];
      for (const address of [...to, n.email.from]) if (!EMAIL.test(address)) throw new Error(`${where}: notify email: "${address}" is not an email address`);
      if (to.length === 0) throw new Error(`${where}: notify email: give at least one recipient`);
    }
  }
}

export function definePipeline<Params>(def: PipelineDefinition<Params>): Pipeline {
  if ((def.plan === undefined) === (def.planStream === undefined)) throw new Error(`pipeline ${def.name}: give plan or planStream, not both`);
  if (def.parseStream && (def.paginate || def.items)) throw new Error(`pipeline ${def.name}: parseStream reads a body without pages; with paginate or items, each page goes to parse`);
  checkRateLimit(def.source.rateLimit, `pipeline ${def.name}, source ${def.source.name}`);
  checkNotify(`pipeline ${def.name}`, def.notify);
  if (!Number.isInteger(def.source.concurrency) || def.source.concurrency < 1)
    throw new Error(`pipeline ${def.name}: source.concurrency must be a whole number ≥ 1`);
  for (const [phase, r] of Object.entries(def.retries ?? {})) {
    if (!(RETRIED_PHASES as readonly string[]).includes(phase))
      throw new Error(`pipeline ${def.name}: retries.${phase}: no such phase (${RETRIED_PHASES.join(", ")})`);
    if (r.attempts !== undefined && !(Number.isInteger(r.attempts) && r.attempts >= 1 && r.attempts <= 100))
      throw new Error(`pipeline ${def.name}: retries.${phase}.attempts must be a whole number from 1 to 100`);
    if (r.passes !== undefined && !(Number.isInteger(r.passes) && r.passes >= 0 && r.passes <= 10))
      throw new Error(`pipeline ${def.name}: retries.${phase}.passes must be a whole number from 0 to 10`);
  }
  const schemaColumns = columnsFromZod(def.rowSchema);
  for (const k of def.key) {
    if (!schemaColumns.some((c) => c.name === k)) throw new Error(`pipeline ${def.name}: key column ${k} is not in the row schema`);
  }
  const quality = (params: unknown): QualityCheck[] => {
    const q = def.quality ?? [];
    return typeof q === "function" ? q(def.params.parse(params)) : q;
  };
  // Flags are a column whenever the pipeline could range-check: decided once, so every version has the same schema.
  const probe = typeof def.quality === "function" ? [] : (def.quality ?? []);
  const flags = def.flagsColumn ?? probe.some((c) => c.kind === "valueRange");
  const columns = flags ? [...schemaColumns, { name: FLAGS_COLUMN, type: "string" as const, nullable: true }] : schemaColumns;
  checkGold(def.name, def.gold ?? [], columns, def.mergeFanIn ?? DEFAULT_MERGE_FAN_IN);
  const overCurrent = (def.gold ?? []).filter((d) => d.over === "current");
  if (overCurrent.length > 0 && !def.changes)
    throw new Error(`pipeline ${def.name}: gold dataset ${overCurrent[0]!.name} is over the current table, but the pipeline declares no changes`);
  if (def.changes) {
    checkChanges(def.name, def.changes, columns);
    // Each run builds on the history the one before it published: one at a time.
    if ((def.maxConcurrentRuns ?? 1) !== 1) throw new Error(`pipeline ${def.name}: a pipeline with changes runs one run at a time (maxConcurrentRuns 1)`);
  }
  return {
    name: def.name,
    description: def.description,
    paramsSchema: def.params,
    source: def.source,
    streamed: def.planStream !== undefined,
    plan: (params) => {
      if (!def.plan) throw new Error(`pipeline ${def.name} plans from a stream`);
      return def.plan(def.params.parse(params));
    },
    planStream: (params, ctx) => {
      const parsed = def.params.parse(params);
      if (def.planStream) return def.planStream(parsed, ctx);
      const plan = def.plan!;
      return (async function* () {
        yield* plan(parsed);
      })();
    },
    items: def.items ? (batch) => def.items!(batch, def.source) : null,
    request: (batch) => {
      if (!def.request) throw new Error(`pipeline ${def.name} has items, not one request per batch`);
      return def.request(batch, def.source);
    },
    parse: def.parse,
    parseStream: def.parseStream ?? null,
    paginate: def.paginate ?? null,
    maxPages: def.maxPages ?? 1000,
    rowSchema: def.rowSchema,
    key: def.key,
    transformer: (params) => {
      const transform = def.transform;
      if (!transform) return (row) => row;
      const parsed = def.params.parse(params);
      return (row) => transform(row, parsed);
    },
    quality,
    batchWindow: (batch) => def.batchWindow?.(batch),
    batchKeys: (batch) => def.batchKeys?.(batch),
    split: (batch) => {
      if (def.split) return def.split(batch);
      const keys = def.items ? undefined : def.batchKeys?.(batch);
      return keys ? halveByKeys(batch, keys) : null;
    },
    columns,
    refinedColumns: schemaColumns.map((c) => ({ ...c, nullable: true })),
    maxAttempts: def.maxAttempts ?? 5,
    toleratedFailurePercent: def.toleratedFailurePercent ?? 0,
    retryPasses: def.retryPasses ?? 2,
    retries: Object.fromEntries(
      RETRIED_PHASES.map((phase) => [
        phase,
        { attempts: def.maxAttempts ?? 5, passes: def.retryPasses ?? 2, backoff: DEFAULT_BACKOFF, ...def.retries?.[phase] } satisfies RetryPolicy,
      ]),
    ) as Record<RetriedPhase, RetryPolicy>,
    mergeFanIn: def.mergeFanIn ?? DEFAULT_MERGE_FAN_IN,
    maxBatches: def.maxBatches ?? 100_000,
    schedules: def.schedules ?? [],
    triggers: def.triggers ?? [],
    gold: def.gold ?? [],
    changes: def.changes ?? null,
    compactions: def.compactions ?? [],
    maxConcurrentRuns: def.maxConcurrentRuns ?? 1,
    whenBusy: def.whenBusy ?? "queue",
    timeouts: { runMs: def.timeouts?.runMs, phaseMs: def.timeouts?.phaseMs ?? {} },
    notify: (def.notify === undefined ? [] : Array.isArray(def.notify) ? def.notify : [def.notify]).map((n) => ({ ...n, on: n.on ?? ["failed", "timed_out"] })),
    derived: null,
    window: (params) => {
      const parsed = def.params.parse(params);
      if (def.window) return def.window(parsed);
      const p = parsed as { from?: unknown; to?: unknown };
      return typeof p.from === "string" && typeof p.to === "string" ? windowOf(p.from, p.to) : { name: "all", hive: "window=all" };
    },
  };
}
