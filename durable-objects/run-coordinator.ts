// The run coordinator: one Durable Object per run. It plans the batches, keeps one row per task
// in SQLite, enqueues tasks in windows, takes results back one call per queue batch, and moves
// the run through ingest → refine → silver → aggregate. An alarm re-sends tasks whose messages
// went quiet, so a lost message or an evicted consumer cannot stall a run.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../src/env";
import { runManifest, writeAggregateManifest, writeRunManifest } from "../src/manifests";
import { getPipeline } from "../src/pipelines";
import { registryStub } from "../src/stubs";
import type { Pipeline } from "../src/pipelines/define";
import type { BatchSpec, Json, Phase, RunSummary, RunView, TaskMessage, TaskResult, TaskStatus, TaskView } from "../src/types";
import { PHASES, TERMINAL_RUN_STATUSES } from "../src/types";
import { NEXT_PHASE, expectedTasks, planBatchPhase, planMergeLevel, type PlannedTask } from "./coordinator/planning";
import { CoordinatorStore, type RunRow, type TaskRow } from "./coordinator/store";

export interface StartRequest {
  runId: string;
  pipeline: string;
  params: Json;
  now: number;
}

/** Tasks in flight (enqueued, not reported) per run. */
export const MAX_IN_FLIGHT = 500;
/** A running task that has not reported for this long is sent again (consumers are idempotent). */
export const STALE_TASK_MS = 30 * 60_000;
const WATCHDOG_MS = 5 * 60_000;
const SEND_BATCH = 100;

export class RunCoordinator extends DurableObject<Env> {
  private readonly store: CoordinatorStore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new CoordinatorStore(ctx.storage.sql);
  }

  /** Create the run and start ingesting. Idempotent: a second call returns the existing run. */
  async start(req: StartRequest): Promise<RunView> {
    if (!this.store.exists()) {
      const pipeline = getPipeline(req.pipeline);
      let n = 0;
      const batches = (function* (): Generator<BatchSpec> {
        for (const b of pipeline.plan(req.params)) yield { id: `b${String(n++).padStart(6, "0")}`, partition: b.partition, data: b.data };
      })();
      this.ctx.storage.transactionSync(() =>
        this.store.create({ id: req.runId, pipeline: req.pipeline, params: req.params, status: "running", phase: "ingest", batches: 0, createdAt: req.now, startedAt: req.now }, batches),
      );
      if (this.store.run()!.batches === 0) await this.finish("failed", "the params plan no batches", req.now);
      else {
        await this.recordSummary();
        await this.writeManifest(req.now);
        await this.dispatch(req.now);
      }
    }
    return this.view()!;
  }

  /** Results of one queue batch. Duplicates and results for settled tasks are ignored. */
  async report(results: TaskResult[]): Promise<{ accepted: number; ignored: number }> {
    const now = Date.now();
    let accepted = 0;
    const run = this.store.run();
    if (!run) return { accepted: 0, ignored: results.length };
    for (const r of results) {
      const task = this.store.task(r.taskId);
      if (!task || task.status === "succeeded" || task.status === "dead" || task.status === "failed") continue;
      this.store.settle(task.seq, r.status, r);
      accepted++;
    }
    if (accepted > 0 && !TERMINAL_RUN_STATUSES.includes(run.status)) {
      await this.advance(now);
      await this.dispatch(now);
    }
    return { accepted, ignored: results.length - accepted };
  }

  view(): RunView | null {
    const run = this.store.run();
    if (!run) return null;
    const counts = this.store.counts();
    const times = this.store.phaseTimes();
    const pipeline = getPipeline(run.pipeline);
    const phases = Object.fromEntries(PHASES.map((p) => [p, { ...counts[p], startedAt: times.get(p)?.startedAt ?? null, finishedAt: times.get(p)?.finishedAt ?? null }])) as RunView["phases"];
    const done = PHASES.reduce((sum, p) => sum + counts[p].succeeded + counts[p].failed + counts[p].dead, 0);
    const finished = TERMINAL_RUN_STATUSES.includes(run.status);
    const total = finished ? done : Math.max(expectedTasks(run.batches, pipeline.mergeFanIn), done);
    return {
      id: run.id,
      pipeline: run.pipeline,
      status: run.status,
      phase: run.phase,
      createdAt: run.createdAt,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
      reason: run.reason,
      params: run.params,
      batches: run.batches,
      phases,
      progress: { done, total, percent: total === 0 ? 0 : Math.floor((done / total) * 1000) / 10 },
      badRows: this.store.badRows(),
      output: run.output,
    };
  }

  tasks(filter: { phase?: Phase; status?: TaskStatus; afterSeq?: number; limit: number }): { tasks: (TaskView & { seq: number })[]; next: number | null } {
    if (!this.store.exists()) return { tasks: [], next: null };
    const rows = this.store.tasks({ ...filter, limit: filter.limit + 1 });
    const page = rows.slice(0, filter.limit).map(({ input: _input, output: _output, badRows: _bad, enqueuedAt: _e, ...view }) => view);
    return { tasks: page, next: rows.length > filter.limit ? page[page.length - 1]!.seq : null };
  }

  /** Watchdog: re-send tasks that went quiet, dispatch anything left pending. */
  override async alarm(): Promise<void> {
    const run = this.store.run();
    if (!run || TERMINAL_RUN_STATUSES.includes(run.status)) return;
    const now = Date.now();
    const stale = this.store.stale(now - STALE_TASK_MS, MAX_IN_FLIGHT);
    for (const t of stale) this.store.touch(t.seq, now);
    await this.send(run, stale);
    await this.dispatch(now);
  }

  private async dispatch(now: number): Promise<void> {
    const run = this.store.run();
    if (!run || TERMINAL_RUN_STATUSES.includes(run.status)) return;
    for (;;) {
      const claimed = this.store.claimPending(Math.min(SEND_BATCH, MAX_IN_FLIGHT - this.store.running()), now);
      if (claimed.length === 0) break;
      try {
        await this.send(run, claimed);
      } catch (err) {
        this.store.unclaim(claimed.map((t) => t.seq));
        console.error(`run ${run.id}: enqueue failed, the watchdog will retry`, err);
        break;
      }
    }
    await this.ctx.storage.setAlarm(now + WATCHDOG_MS);
  }

  private async send(run: RunRow, tasks: TaskRow[]): Promise<void> {
    for (let i = 0; i < tasks.length; i += SEND_BATCH) {
      const messages = tasks.slice(i, i + SEND_BATCH).map((t): { body: TaskMessage } => ({
        body: { v: 1, runId: run.id, pipeline: run.pipeline, taskId: t.id, phase: t.phase, group: t.group, input: t.input },
      }));
      if (messages.length > 0) await this.env.TASKS.sendBatch(messages);
    }
  }

  /** Move on when the current phase has no open task. */
  private async advance(now: number): Promise<void> {
    for (;;) {
      const run = this.store.run()!;
      const phase = run.phase;
      if (!phase || TERMINAL_RUN_STATUSES.includes(run.status) || this.store.open(phase) > 0) return;
      const pipeline = getPipeline(run.pipeline);
      if (phase === "aggregate") return this.advanceMerge(run, pipeline, now);
      this.store.phaseFinished(phase, now);
      const next = NEXT_PHASE[phase]!;
      const done = this.store.tasks({ phase, status: "succeeded" });
      if (next === "aggregate") {
        const lost = this.store.lostBatches();
        const percent = (lost / run.batches) * 100;
        if (done.length === 0) return this.finish("failed", "no batch reached silver", now);
        if (percent > pipeline.toleratedFailurePercent) {
          return this.finish("failed", `${lost} of ${run.batches} batches failed (${percent.toFixed(1)}%), over the tolerated ${pipeline.toleratedFailurePercent}%`, now);
        }
        const files = done.map((t) => t.output!).sort((a, b) => a.key.localeCompare(b.key));
        this.enter("aggregate", planMergeLevel(run.id, pipeline, 1, files), now);
      } else {
        if (done.length === 0) return this.finish("failed", `no batch succeeded in ${phase}`, now);
        this.enter(next, planBatchPhase(next as "refine" | "silver", done), now);
      }
      await this.writeManifest(now);
    }
  }

  private enter(phase: Phase, tasks: PlannedTask[], now: number): void {
    this.ctx.storage.transactionSync(() => {
      for (const t of tasks) this.store.insertTask(t.id, t.phase, t.group, t.batchId, t.input);
      this.store.setPhase(phase, now);
    });
  }

  /** A merge level is complete: plan the next level, or finish the run. */
  private async advanceMerge(run: RunRow, pipeline: Pipeline, now: number): Promise<void> {
    const level = this.store.maxMergeLevel();
    const tasks = this.store.tasks({ phase: "aggregate", group: `merge-L${level}` });
    const failed = tasks.find((t) => t.status !== "succeeded");
    if (failed) {
      return this.finish("failed", `aggregation task ${failed.id} failed: ${failed.error?.message ?? "unknown error"}`, now);
    }
    if (tasks.length === 1 && tasks[0]!.input.kind === "merge" && tasks[0]!.input.final) {
      const output = tasks[0]!.output!;
      this.store.phaseFinished("aggregate", now);
      await this.writeAggregate(run, pipeline, output, now);
      const lost = this.store.lostBatches();
      return this.finish(lost > 0 ? "partial" : "succeeded", lost > 0 ? `${lost} of ${run.batches} batches missing from the output` : null, now, output);
    }
    const files = tasks.map((t) => t.output!);
    const next = planMergeLevel(run.id, pipeline, level + 1, files);
    this.ctx.storage.transactionSync(() => {
      for (const t of next) this.store.insertTask(t.id, t.phase, t.group, t.batchId, t.input);
    });
  }

  private async writeAggregate(run: RunRow, pipeline: Pipeline, output: NonNullable<RunRow["output"]>, now: number): Promise<void> {
    const silver = this.store.tasks({ phase: "silver", status: "succeeded" });
    const merges = this.store.tasks({ phase: "aggregate" });
    const levels = new Map<number, { tasks: number; files: number }>();
    for (const m of merges) {
      if (m.input.kind !== "merge") continue;
      const l = levels.get(m.input.level) ?? { tasks: 0, files: 0 };
      l.tasks++;
      l.files += m.input.inputs.length;
      levels.set(m.input.level, l);
    }
    await writeAggregateManifest(this.env.BUCKET, {
      kind: "aggregate",
      runId: run.id,
      pipeline: pipeline.name,
      inputs: silver.map((t) => ({ batchId: t.batchId ?? "", key: t.output!.key, rows: t.output!.rows, sha256: t.output!.sha256 })),
      levels: [...levels.entries()].map(([level, l]) => ({ level, ...l })),
      totalRows: output.rows,
      output,
      writtenAt: new Date(now).toISOString(),
    });
  }

  private async finish(status: RunRow["status"], reason: string | null, now: number, output: RunRow["output"] = null): Promise<void> {
    this.store.finishRun(status, reason, output, now);
    await this.writeManifest(now);
    await this.recordSummary();
    await this.ctx.storage.deleteAlarm();
  }

  private summary(): RunSummary {
    const r = this.store.run()!;
    return { id: r.id, pipeline: r.pipeline, status: r.status, phase: r.phase, createdAt: r.createdAt, startedAt: r.startedAt, finishedAt: r.finishedAt, reason: r.reason };
  }

  private async recordSummary(): Promise<void> {
    const s = this.summary();
    await registryStub(this.env, s.pipeline).record(s);
  }

  private async writeManifest(now: number): Promise<void> {
    const view = this.view()!;
    const pick = (status: "dead" | "failed") => this.store.tasks({ status, limit: 10_000 }).map((t) => ({ taskId: t.id, batchId: t.batchId, error: t.error }));
    await writeRunManifest(this.env.BUCKET, runManifest(view, pick("dead"), pick("failed"), now));
  }
}
