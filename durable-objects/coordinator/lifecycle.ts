// A run's life around its state machine: sending its tasks, the one alarm, its output versions,
// its manifests, its end and what it spends. The RPC methods and the phase state machine live in
// ../run-coordinator.ts, which extends this class.
import { derivedInput } from "../../src/pipelines/derived";
import { readChangesApplied } from "../../src/gold/change-tables";
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../src/env";
import { runManifest, writeAggregateManifest, writeRunManifest } from "../../src/manifests";
import type { Catalog } from "../../src/catalog";
import type { Pipeline, RetriedPhase } from "../../src/pipelines/define";
import { ledgerStub } from "../rpc/ledger";
import { shortHash } from "../../src/hash";
import { layout } from "../../src/r2/layout";
import { dropStaged } from "../../src/upstream/staged-body";
import type { Json, OutputFile, Phase, RunSummary, RunView, TaskMessage, TaskStatus, TaskView } from "../../src/types";
import { TERMINAL_RUN_STATUSES } from "../../src/types";
import { Notifier } from "../notifications";
import { phaseIndex, planMergeLevel, type PlannedTask } from "./planning";
import { aggregateManifest } from "./manifests";
import { runDeadline } from "./deadlines";
import { CoordinatorStore, type RunRow, type TaskRow } from "./store";
import { CoordinatorMeter } from "./metering";
import { runView } from "./view";

/** Tasks in flight (enqueued, not reported) per run. */
export const MAX_IN_FLIGHT = 500;
/**
 * A running task that has not reported for this long is sent again (consumers are idempotent).
 * Queues redeliver on their own; this catches messages lost anyway (a local runtime's queue is
 * in memory). `SLUICE_STALE_TASK_MS` overrides it.
 */
export const STALE_TASK_MS = 30 * 60_000;
export const WATCHDOG_MS = 5 * 60_000;
/** An ended run whose manifest write was interrupted tries again this soon. */
const SETTLE_RETRY_MS = 5_000;
const SEND_BATCH = 100;
const SEND_BATCH_BYTES = 200_000;
/**
 * A local runtime's coordinator, new after a restart, sends the tasks still running since before
 * it began again this soon (tasks that report meanwhile are not sent twice).
 */
const RESUME_MS = 30_000;
/** A run whose planning a reset cut short plans again this soon (its alarm). */
export const PLAN_CHECK_MS = 30_000;
/** After a failed enqueue, try again this soon (the watchdog is the backstop). */
const SEND_RETRY_MS = 2_000;

export abstract class RunLifecycle extends DurableObject<Env> {
  /** The deployment's pipelines: `createSluice` binds the class to them. */
  protected abstract get catalog(): Catalog;

  /** The run's pipeline as this environment runs it (limits, schedules, webhooks, checks); undefined once removed. */
  protected pipelineIfAny(name: string): Pipeline | undefined {
    const declared = this.catalog.find(name);
    return declared && this.catalog.deployed(this.env, declared);
  }

  protected pipelineNamed(name: string): Pipeline {
    const pipeline = this.pipelineIfAny(name);
    if (!pipeline) throw new Error(`unknown pipeline ${name}`);
    return pipeline;
  }
  protected readonly store: CoordinatorStore;
  protected readonly notifier: Notifier;
  /** What the run spends here: requests, busy time, SQLite rows, and what goes through `env`. */
  readonly meter: CoordinatorMeter;
  /** The last dispatch could not enqueue: the next alarm comes soon, not at the watchdog. */
  private sendFailed = false;
  /**
   * A new instance where the queue keeps its messages in memory (`SLUICE_QUEUE_IN_MEMORY`: wrangler
   * dev, the tests): the process may have restarted with its queue empty, so an alarm 30 s on sends
   * every task still running since before this instance began again (consumers are idempotent). Cloudflare Queues keep messages
   * across restarts: there the watchdog's stale re-send is enough.
   */
  private resumeCheck: boolean;
  /** When this instance began: tasks running since before it may have lost their messages. */
  private readonly bornAt = Date.now();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.meter = new CoordinatorMeter(ctx.storage.sql);
    this.env = this.meter.env(env);
    this.store = new CoordinatorStore(this.meter.sql);
    this.notifier = new Notifier(this.meter.sql, this.env);
    this.resumeCheck = env.SLUICE_QUEUE_IN_MEMORY === "true";
    if (this.resumeCheck) {
      void ctx.blockConcurrencyWhile(async () => {
        if (this.store.run()?.status !== "running" || this.store.running() === 0) return;
        const soon = Date.now() + RESUME_MS;
        const at = await ctx.storage.getAlarm();
        if (at === null || at > soon) await ctx.storage.setAlarm(soon);
      });
    }
  }

  /**
   * Tasks put back on the queue to wait for rate-limit budget (an hourly or daily window): they
   * are still running, and not stale (to be re-sent) before they wake.
   */
  waiting(tasks: { taskId: string; until: number }[]): void {
    for (const t of tasks) this.store.waitUntil(t.taskId, t.until);
  }

  /** Webhook deliveries of this run. */
  notifications(): ReturnType<Notifier["list"]> {
    return this.notifier.list();
  }

  /** A metered request ended: what the run spent, once none is in progress, goes to its current phase. */
  meterEnd(store: boolean): void {
    const spent = this.meter.leave(store);
    const run = spent && this.store.run();
    if (run) this.store.addUsage(run.phase ?? "ingest", spent);
  }

  /** The run as the API shows it (the subclass's RPC `view()` returns this). */
  protected currentView(): RunView | null {
    const run = this.store.run();
    return run ? runView(this.store, run, this.pipelineIfAny(run.pipeline)) : null;
  }

  /** A page of the run's tasks, for the API and the run page. */
  tasks(filter: { phase?: Phase; status?: TaskStatus; afterSeq?: number; limit: number }): { tasks: (TaskView & { seq: number })[]; next: number | null } {
    if (!this.store.exists()) return { tasks: [], next: null };
    const rows = this.store.tasks({ ...filter, limit: filter.limit + 1 });
    const page = rows.slice(0, filter.limit).map(({ input: _i, output: _o, badRows: _b, enqueuedAt: _e, profile: _p, generation: _g, ...view }) => view);
    return { tasks: page, next: rows.length > filter.limit ? page[page.length - 1]!.seq : null };
  }

  /** Ingest tasks finished per bucket of time (at most `buckets`, each whole seconds), for the rate chart. */
  ingestRate(buckets: number): { start: number; bucketMs: number; counts: number[] } | null {
    if (!this.store.exists()) return null;
    return this.store.ingestRate(Math.max(1, Math.min(buckets, 1000)));
  }

  protected deadline(run: RunRow): { at: number; reason: string } | null {
    const pipeline = this.pipelineIfAny(run.pipeline);
    return pipeline ? runDeadline(run, pipeline, run.phase ? this.store.phaseTimes().get(run.phase)?.startedAt : null) : null;
  }

  protected async scheduleAlarm(now: number): Promise<void> {
    const run = this.store.run();
    const times = [this.notifier.nextDue()];
    if (run?.status === "running") times.push(now + Math.min(WATCHDOG_MS, this.staleMs()), this.deadline(run)?.at ?? null);
    if (run && !run.settled) times.push(now + SETTLE_RETRY_MS);
    if (run && !run.planned && !TERMINAL_RUN_STATUSES.includes(run.status)) times.push(now + PLAN_CHECK_MS);
    if (run?.status === "running" && this.sendFailed) times.push(now + SEND_RETRY_MS);
    this.sendFailed = false;
    const next = times.filter((t): t is number => t !== null).sort((a, b) => a - b)[0];
    if (next === undefined) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(Math.max(next, now + 1));
  }

  /**
   * The run's params as an R2 object named by their content, for silver tasks to read: inline in
   * every message they would be stored and sent once per task (an inline list of 10,000 ids made
   * a 10,000-task run's SQLite 87 MB and each silver message ~80 KB).
   */
  protected async paramsKey(params: Json): Promise<string> {
    const text = JSON.stringify(params);
    const key = layout.runParams(this.store.run()!.id, await shortHash(text, 16));
    if (!(await this.env.BUCKET.head(key))) await this.env.BUCKET.put(key, text, { httpMetadata: { contentType: "application/json" } });
    return key;
  }

  /**
   * Running tasks enqueued before this are sent again: quiet for the stale time, or, once after a
   * local restart, running since before this instance began (their messages may be gone).
   */
  protected resendBefore(now: number): number {
    const before = this.resumeCheck ? Math.max(this.bornAt, now - this.staleMs()) : now - this.staleMs();
    this.resumeCheck = false;
    return before;
  }

  protected staleMs(): number {
    const ms = Number(this.env.SLUICE_STALE_TASK_MS);
    return Number.isFinite(ms) && ms >= 1_000 ? ms : STALE_TASK_MS;
  }

  /** A phase's failure tolerance and retry passes: the run's options over the pipeline's. */
  protected settings(run: RunRow, pipeline: Pipeline, phase: RetriedPhase) {
    return {
      tolerated: run.options.toleratedFailurePercent ?? pipeline.toleratedFailurePercent,
      retryPasses: run.options.retryPasses ?? pipeline.retries[phase].passes,
    };
  }

  protected async allocateVersion(): Promise<void> {
    const run = this.store.run()!;
    this.store.setVersion(await ledgerStub(this.env, run.pipeline).allocateVersion(run.window.name));
  }

  /** The run (re)started: the registry and the manifest hear of it, then its tasks are sent. */
  protected async announceAndSend(now: number): Promise<void> {
    await this.recordSummary();
    await this.writeManifest(now);
    await this.dispatch(now);
  }

  protected async dispatch(now: number): Promise<void> {
    const run = this.store.run();
    if (!run || TERMINAL_RUN_STATUSES.includes(run.status)) return;
    for (;;) {
      const claimed = this.store.claimPending(Math.min(SEND_BATCH, MAX_IN_FLIGHT - this.store.running()), now);
      if (claimed.length === 0) break;
      const { sent, error } = await this.send(run, claimed);
      if (error) {
        this.store.unclaim(claimed.slice(sent).map((t) => t.seq));
        this.sendFailed = true;
        console.error(`run ${run.id}: enqueue of ${claimed.length - sent} tasks failed, retrying in ${SEND_RETRY_MS} ms`, error);
        break;
      }
    }
    await this.scheduleAlarm(now);
  }

  protected async send(run: RunRow, tasks: TaskRow[]): Promise<{ sent: number; error: unknown }> {
    const retries = this.pipelineNamed(run.pipeline).retries;
    const version = run.version!;
    const messages = tasks.map((t): { body: TaskMessage } => ({
      body: {
        v: 1,
        runId: run.id,
        pipeline: run.pipeline,
        taskId: t.id,
        phase: t.phase,
        group: t.group,
        maxAttempts: run.options.maxAttempts ?? retries[t.phase as RetriedPhase].attempts,
        backoff: retries[t.phase as RetriedPhase].backoff,
        version,
        force: run.options.force,
        input: t.input,
      },
    }));
    // A sendBatch holds at most 100 messages and 256 KB: cut by count and by size. Returns how
    // many were sent before a failure (then the error), so only the rest go back to pending.
    let sent = 0;
    let chunk: typeof messages = [];
    let size = 0;
    const flush = async () => {
      await this.env.TASKS.sendBatch(chunk);
      sent += chunk.length;
      chunk = [];
      size = 0;
    };
    try {
      for (const m of messages) {
        const bytes = JSON.stringify(m.body).length + 100;
        if (chunk.length > 0 && (chunk.length === SEND_BATCH || size + bytes > SEND_BATCH_BYTES)) await flush();
        chunk.push(m);
        size += bytes;
      }
      if (chunk.length > 0) await flush();
      return { sent, error: null };
    } catch (error) {
      return { sent, error };
    }
  }

  protected insert(tasks: PlannedTask[]): void {
    for (const t of tasks) this.store.insertTask(t.id, t.phase, t.group, t.batchId, t.generation, t.input);
  }

  /** Batches already handled in `phase`: this generation's, when the generation recomputes it. */
  protected taken(run: RunRow, phase: Phase): Set<string> {
    const recompute = run.rerunFrom !== null && phaseIndex(phase) >= phaseIndex(run.rerunFrom);
    return this.store.takenBatches(phase, recompute ? run.generation : undefined);
  }

  protected firstMergeLevel(run: RunRow, pipeline: Pipeline): PlannedTask[] {
    const files = this.store
      .latest("succeeded", "silver")
      .map((t) => t.output!)
      .sort((a, b) => a.key.localeCompare(b.key));
    return planMergeLevel(pipeline, run.version!, run.generation, 1, files, run.dataset);
  }

  protected async writeAggregate(run: RunRow, pipeline: Pipeline, output: OutputFile, now: number): Promise<void> {
    await writeAggregateManifest(this.env.BUCKET, aggregateManifest(this.store, run, pipeline, output, now));
  }

  /**
   * End the run. The end, its webhook and an alarm are stored in one turn before anything is
   * written elsewhere; if the process dies while the manifest or the registry summary is being
   * written, the alarm writes them again (both writes are idempotent).
   */
  protected async finish(status: RunRow["status"], reason: string | null, now: number, output: RunRow["output"] = null): Promise<void> {
    this.store.finishRun(status, reason, output ?? this.store.run()?.output ?? null, now);
    const run = this.store.run()!;
    const links = { self: `/v1/jobs/${run.id}`, manifest: `/v1/jobs/${run.id}/manifest`, output: `/v1/jobs/${run.id}/output` };
    const warnings = (run.quality?.checks ?? []).filter((c) => c.severity === "warn" && !c.passed).map((c) => c.name);
    for (const target of this.pipelineIfAny(run.pipeline)?.notify ?? []) {
      const body = { runId: run.id, pipeline: run.pipeline, status, reason, finishedAt: new Date(now).toISOString(), links };
      if (target.on.includes(status)) this.notifier.add(target, { ...body, event: status }, now);
      if (warnings.length > 0 && target.on.includes("quality_warning")) this.notifier.add(target, { ...body, event: "quality_warning", warnings }, now);
    }
    await this.ctx.storage.setAlarm(now + SETTLE_RETRY_MS);
    await this.notifier.deliver(now);
    await this.settleEndedRun(now);
  }

  /** Drop what its tasks staged and never stored, write the ended run's manifest and tell the registry; then it is settled. */
  protected async settleEndedRun(now: number): Promise<void> {
    await dropStaged(this.env.BUCKET, layout.staged(this.store.run()!.id));
    await this.writeManifest(now);
    await this.recordSummary();
    this.store.markSettled();
    await this.scheduleAlarm(now);
  }

  protected summary(): RunSummary {
    const v = this.currentView()!;
    const { id, pipeline, status, phase, createdAt, startedAt, finishedAt, reason, version, output, published, progress } = v;
    return { id, pipeline, status, phase, createdAt, startedAt, finishedAt, reason, version, output, published, progress };
  }

  protected async recordSummary(): Promise<void> {
    const s = this.summary();
    await ledgerStub(this.env, s.pipeline).record(s);
  }

  protected async writeManifest(now: number): Promise<void> {
    const view = this.currentView()!;
    const list = (tasks: TaskRow[]) => tasks.map((t) => ({ taskId: t.id, batchId: t.batchId, error: t.error }));
    const derived = this.pipelineIfAny(view.pipeline)?.derived;
    const inputs = derived
      ? this.store.latest("succeeded", "ingest").flatMap((t) => (t.input.kind === "ingest" ? [derivedInput(t.input.batch.data)] : []))
      : undefined;
    const version = this.store.run()?.version;
    const changes =
      this.pipelineIfAny(view.pipeline)?.changes && version
        ? await readChangesApplied(this.env.BUCKET, layout.goldDataset(view.pipeline, "history", version))
        : null;
    await writeRunManifest(this.env.BUCKET, {
      ...runManifest(view, list(this.store.latest("dead")), list(this.store.latest("failed")), now),
      ...(inputs ? { inputs } : {}),
      ...(changes ? { changes } : {}),
      deadItems: this.store.deadItems(10_000),
    });
  }
}
