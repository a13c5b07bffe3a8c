// The run coordinator: one Durable Object per run. It plans the batches, keeps one row per task
// in SQLite, enqueues tasks in windows, takes results back one call per queue batch, and moves
// the run through ingest → refine → silver → aggregate → quality. When a phase's tasks are
// settled, the ones that failed after every attempt get retry passes (`retry-1`, …) before the
// run moves on. A finished run can be redriven (its failed tasks) or re-run from any phase after
// ingest: each is a new generation writing a new output version, the old one left intact. An
// alarm re-sends tasks whose messages went quiet.
import { putJson } from "../src/manifests";
import type { PlanContext, Pipeline } from "../src/pipelines/define";
import type { RunWindow } from "../src/pipelines/windows";
import { layout } from "../src/r2/layout";
import type { Json, OutputFile, Phase, RunOptions, RunView, TaskResult, Usage } from "../src/types";
import { PHASES, TERMINAL_RUN_STATUSES } from "../src/types";
import { usageFrom } from "../src/costs/usage";
import { COORDINATOR_READS, COORDINATOR_REQUESTS, meterRequests } from "./coordinator/metering";
import { Refusal } from "../src/errors";
import { RunLifecycle, MAX_IN_FLIGHT, PLAN_CHECK_MS } from "./coordinator/lifecycle";
import { NEXT_PHASE, PREVIOUS_PHASE, planAgain, planBatchPhase, planMergeLevel, samePlan, splitPieces, storePlan } from "./coordinator/planning";
import { judgeQuality, publish } from "./coordinator/quality";
import { retryManifest } from "./coordinator/manifests";
import type { RunRow, TaskRow } from "./coordinator/store";

export interface StartRequest {
  runId: string;
  pipeline: string;
  params: Json;
  options?: RunOptions;
  now: number;
  /** Plan it and wait: the registry calls `startQueued()` when there is room. */
  queued?: boolean;
}

export type RerunResult = { view: RunView };

const BATCH_PHASES = ["ingest", "refine", "silver"] as const;

/** Unbound: `createSluice` makes the class a deployment exports, bound to its catalog. */
export abstract class RunCoordinator extends RunLifecycle {
  /** This instance's plan in progress: a second caller waits for it instead of planning too. */
  private planning: Promise<{ error?: string }> | null = null;

  /**
   * Create the run (planning its batches) and start it, or leave it queued. Idempotent: a start
   * again after a reset cut planning short plans again from the start.
   */
  async create(req: StartRequest): Promise<RunView> {
    if (!this.store.exists()) {
      const pipeline = this.pipelineNamed(req.pipeline);
      const window = pipeline.window(req.params);
      const run = {
        id: req.runId,
        pipeline: req.pipeline,
        params: req.params,
        options: req.options ?? {},
        status: "queued" as const,
        phase: "ingest" as const,
        window,
        createdAt: req.now,
        startedAt: null,
      };
      this.ctx.storage.transactionSync(() => this.store.create(run));
      await this.ctx.storage.setAlarm(req.now + PLAN_CHECK_MS); // a reset cuts planning short: this alarm plans again
      if (!(await this.planAll(req.now))) return this.view()!;
      if (req.queued) {
        await this.recordSummary();
        await this.writeManifest(req.now);
      } else await this.startQueued();
    } else if (!this.store.run()!.planned) await this.planAll(Date.now());
    return this.view()!;
  }

  /**
   * Plan every batch, from the start (what a reset left of an earlier try is dropped first). A
   * plan that fails ends the run failed. Calls while this instance plans wait for that plan.
   */
  private async planAll(now: number): Promise<boolean> {
    if (!this.planning) {
      const run = this.store.run()!;
      this.planning = storePlan(this.ctx.storage, this.store, this.pipelineNamed(run.pipeline), run.params, this.planContext("plan")).finally(
        () => (this.planning = null),
      );
    }
    const { error } = await this.planning;
    if (error && !TERMINAL_RUN_STATUSES.includes(this.store.run()!.status)) {
      this.ctx.storage.transactionSync(() => this.store.clearPlan()); // no task of a plan that failed stays pending
      await this.finish("failed", error, now);
    }
    return !error;
  }

  private planContext(scope: "plan" | "check"): PlanContext {
    return { bucket: this.env.BUCKET, firstSeen: (id) => this.store.firstSeen(scope, id) };
  }

  /** Merge finished runs' outputs into one file of `dataset` (the small-files problem). Idempotent. */
  async compact(req: { runId: string; pipeline: string; dataset: string; window: RunWindow; inputs: OutputFile[]; now: number }): Promise<RunView> {
    if (!this.store.exists()) {
      const pipeline = this.pipelineNamed(req.pipeline);
      this.ctx.storage.transactionSync(() =>
        this.store.createCompaction({
          id: req.runId,
          pipeline: req.pipeline,
          dataset: req.dataset,
          window: req.window,
          inputs: req.inputs.length,
          now: req.now,
        }),
      );
      await this.allocateVersion();
      const run = this.store.run()!;
      this.ctx.storage.transactionSync(() => this.insert(planMergeLevel(pipeline, run.version!, 1, 1, req.inputs, req.dataset)));
      await this.announceAndSend(req.now);
    }
    return this.view()!;
  }

  /** A queued run starts: its version is allocated and its first tasks sent. Never with part of its plan. */
  async startQueued(): Promise<RunView | null> {
    const run = this.store.run();
    if (!run || run.status !== "queued") return this.view();
    const now = Date.now();
    if (!run.planned && !(await this.planAll(now))) return this.view();
    if (this.store.run()!.status !== "queued") return this.view();
    this.store.markRunning(now);
    await this.allocateVersion();
    await this.announceAndSend(now);
    return this.view();
  }

  /** Cancel: pending tasks are dropped, running ones are abandoned (their results ignored). */
  async cancel(reason = "cancelled by request"): Promise<RunView> {
    const run = this.existing();
    if (TERMINAL_RUN_STATUSES.includes(run.status)) throw new Refusal("run_ended", `run ${run.id} has already ended`);
    await this.stop("cancelled", reason, Date.now());
    return this.view()!;
  }

  /** End a run before its time: drop its tasks, tell consumers, keep the previous output served. */
  private async stop(status: "cancelled" | "timed_out" | "failed", reason: string, now: number): Promise<void> {
    this.store.cancelOpen();
    await this.env.BUCKET.put(layout.stopped(this.store.run()!.id), JSON.stringify({ status, reason, at: new Date(now).toISOString() }));
    await this.finish(status, reason, now);
  }

  /** Results of one queue batch, and what it spent per phase. Duplicates and results for settled tasks are ignored. */
  async report(results: TaskResult[], spent?: Partial<Record<Phase, Usage>>): Promise<{ accepted: number; ignored: number }> {
    const now = Date.now();
    const run = this.store.run();
    if (!run) return { accepted: 0, ignored: results.length };
    this.store.countReport();
    for (const phase of PHASES) if (spent?.[phase]) this.store.addUsage(phase, usageFrom(spent[phase]));
    let accepted = 0;
    const ended = TERMINAL_RUN_STATUSES.includes(run.status);
    for (const r of results) {
      const task = this.store.task(r.taskId);
      if (!task || task.status === "succeeded" || task.status === "dead" || task.status === "failed" || task.status === "split") continue;
      // An ingest task that failed for good with several keys (a deleted station among eight):
      // its batch is cut (halves by default) and the pieces run, until the failing keys stand alone.
      const pieces = r.status === "dead" && !ended ? splitPieces(this.pipelineNamed(run.pipeline), task) : null;
      this.ctx.storage.transactionSync(() => {
        this.store.recordResult(task.seq, r.status, r);
        if (pieces) this.store.splitBatch(task, pieces);
      });
      accepted++;
    }
    if (accepted > 0 && !TERMINAL_RUN_STATUSES.includes(run.status)) {
      await this.advance(now);
      await this.dispatch(now);
    }
    return { accepted, ignored: results.length - accepted };
  }

  /** Re-run the failed (not dead) and cut-short tasks of a finished run, then re-aggregate as a new version. */
  async redrive(): Promise<RerunResult & { tasks?: number }> {
    const run = this.existing();
    if (!TERMINAL_RUN_STATUSES.includes(run.status)) throw new Refusal("run_active", `run ${run.id} is still running: redrive it once it has ended`);
    // The failed tasks, and those a cancel or timeout cut short; a run stopped in aggregation or
    // quality has none of those: it runs that phase again.
    const failed = [...this.store.latest("failed"), ...this.store.latest("cancelled")].sort((a, b) => a.seq - b.seq);
    const stopped = run.status === "cancelled" || run.status === "timed_out";
    if (failed.length === 0 && stopped && (run.phase === "aggregate" || run.phase === "quality")) return this.rerun(run.phase, run.params);
    if (failed.length === 0) throw new Refusal("nothing_to_redrive", `run ${run.id} has no failed tasks to redrive (dead tasks are never retried)`);
    const now = Date.now();
    const first = BATCH_PHASES.find((p) => failed.some((t) => t.phase === p))!;
    const generation = run.generation + 1;
    this.ctx.storage.transactionSync(() => {
      this.store.reopen(first, generation, null, run.params, now);
      this.insert(
        planAgain(
          failed.filter((t) => t.phase === first),
          generation,
        ),
      );
    });
    await this.allocateVersion();
    await this.env.BUCKET.delete(layout.stopped(run.id)); // a cancelled or timed-out run's marker goes with the stop
    await this.announceAndSend(now);
    return { view: this.view()!, tasks: failed.length };
  }

  /**
   * Re-run `phase` and every phase after it from the stored layer below, with (optionally)
   * changed params that do not change the plan. Nothing is downloaded again.
   */
  async rerun(phase: Exclude<Phase, "ingest">, params: Json): Promise<RerunResult> {
    const run = this.existing();
    if (!TERMINAL_RUN_STATUSES.includes(run.status)) throw new Refusal("run_active", `run ${run.id} is still running: re-run a phase once it has ended`);
    if (run.kind === "compaction") throw new Refusal("not_rerunnable", "a compaction has no phases to re-run: it runs again when its window's outputs change");
    const pipeline = this.pipelineNamed(run.pipeline);
    if (!(await samePlan(this.store, pipeline, params, this.planContext("check")))) {
      throw new Refusal("plan_changed", "these params plan other batches: submit a new run instead");
    }
    const now = Date.now();
    const generation = run.generation + 1;
    const previous = PREVIOUS_PHASE[phase]!;
    this.ctx.storage.transactionSync(() => this.store.reopen(phase, generation, phase, params, now));
    await this.env.BUCKET.delete(layout.stopped(run.id)); // a cancelled or timed-out run's marker goes with the stop
    if (phase !== "quality") await this.allocateVersion();
    const current = this.store.run()!;
    const tasks =
      phase === "aggregate"
        ? this.firstMergeLevel(current, pipeline)
        : phase === "quality"
          ? []
          : planBatchPhase(phase, generation, this.store.latest("succeeded", previous), new Set(), phase === "silver" ? await this.paramsKey(params) : "");
    if (phase !== "quality" && tasks.length === 0) {
      await this.finish("failed", `nothing to re-run: no batch succeeded in ${previous}`, now);
      return { view: this.view()! };
    }
    this.ctx.storage.transactionSync(() => this.insert(tasks));
    await this.announceAndSend(now);
    if (phase === "quality") await this.advance(now);
    return { view: this.view()! };
  }

  view(): RunView | null {
    return this.currentView();
  }

  /** This object's run; a Refusal when it has none (no run has this id). */
  private existing() {
    const run = this.store.run();
    if (!run) throw new Refusal("not_found", "no run has this id");
    return run;
  }

  /** One alarm for every timer: timeouts, the watchdog (re-send quiet tasks), webhook retries. */
  override async alarm(): Promise<void> {
    const run = this.store.run();
    if (!run) return;
    const now = Date.now();
    await this.notifier.deliver(now);
    if (!TERMINAL_RUN_STATUSES.includes(run.status) && !this.pipelineIfAny(run.pipeline)) {
      // The deployment no longer has its pipeline: nothing can plan, run or merge its tasks.
      await this.stop("failed", `pipeline ${run.pipeline} is no longer deployed`, now);
      return this.scheduleAlarm(now);
    }
    if (!run.planned && !TERMINAL_RUN_STATUSES.includes(run.status)) {
      // A reset cut planning short: plan again, then tell the registry the run is ready to begin.
      if (await this.planAll(now)) {
        await this.recordSummary();
        await this.writeManifest(now);
      }
      return this.scheduleAlarm(now);
    }
    if (run.status === "running") {
      const deadline = this.deadline(run);
      if (deadline && now >= deadline.at) await this.stop("timed_out", deadline.reason, now);
      else {
        const stale = this.store.stale(this.resendBefore(now), MAX_IN_FLIGHT);
        for (const t of stale) this.store.touch(t.seq, now);
        const { error } = await this.send(run, stale);
        if (error) console.error(`run ${run.id}: re-sending ${stale.length} stale tasks failed; the next alarm tries again`, error);
        await this.dispatch(now);
        // A phase whose last report was stored but whose transition was cut short (the process
        // died during its writes) moves on here; advance() is a no-op while tasks are open.
        await this.advance(now);
        return;
      }
    } else if (!run.settled) return this.settleEndedRun(now);
    await this.scheduleAlarm(now);
  }

  /** Move on when the current phase has no open task: a retry pass, the next phase, or the end. */
  private async advance(now: number): Promise<void> {
    const run = this.store.run()!;
    const phase = run.phase;
    if (!phase || TERMINAL_RUN_STATUSES.includes(run.status) || this.store.open(phase) > 0) return;
    const pipeline = this.pipelineNamed(run.pipeline);
    if (phase === "aggregate") return this.advanceMerge(run, pipeline, now);
    if (phase === "quality") return this.quality(run, pipeline, now, this.finalMergeOutput(run));

    const { tolerated, retryPasses } = this.settings(run, pipeline, phase);
    const failed = this.store.latest("failed", phase);
    const passes = this.store.retryPasses(phase);
    if (failed.length > 0 && passes < retryPasses) return this.retryPass(run, phase, failed, passes + 1, now);

    this.store.phaseFinished(phase, now);
    const next = NEXT_PHASE[phase]!;
    if (next === "aggregate") {
      const lost = this.store.lostBatches();
      const percent = (lost / run.batches) * 100;
      if (this.store.latest("succeeded", "silver").length === 0) return this.finish("failed", "no batch reached silver", now);
      if (percent > tolerated) {
        return this.finish("failed", `${lost} of ${run.batches} batches failed (${percent.toFixed(1)}%), over the tolerated ${tolerated}%`, now);
      }
      this.ctx.storage.transactionSync(() => {
        this.insert(this.firstMergeLevel(run, pipeline));
        this.store.setPhase("aggregate", now);
      });
    } else {
      const done = this.store.latest("succeeded", phase);
      const paramsKey = next === "silver" ? await this.paramsKey(run.params) : "";
      const planned = planBatchPhase(next as "refine" | "silver", run.generation, done, this.taken(run, next), paramsKey);
      if (planned.length === 0 && this.store.latest("succeeded", next).length === 0) return this.finish("failed", `no batch succeeded in ${phase}`, now);
      this.ctx.storage.transactionSync(() => {
        this.insert(planned);
        this.store.setPhase(next, now);
      });
      if (planned.length === 0) return this.advance(now);
    }
    await this.writeManifest(now);
  }

  /** Plan the failed tasks of `phase` again as task group `retry-<pass>`, with a manifest. */
  private async retryPass(run: RunRow, phase: Phase, failed: TaskRow[], pass: number, now: number): Promise<void> {
    const group = `retry-${pass}`;
    const tasks = planAgain(failed, run.generation, group);
    this.ctx.storage.transactionSync(() => {
      this.insert(tasks);
      this.store.bumpRetryPasses(phase);
    });
    const key = layout.retryManifest(run.id, phase, run.generation > 1 ? `g${run.generation}-${group}` : group);
    await putJson(
      this.env.BUCKET,
      key,
      retryManifest(
        run,
        phase,
        group,
        failed,
        tasks.map((t) => t.id),
        now,
      ),
    );
  }

  /** A merge level is complete: plan the next level, or move to the quality phase. */
  /** This generation's final merge output, if it has one (a quality phase resumed after a crash). */
  private finalMergeOutput(run: RunRow): OutputFile | undefined {
    const tasks = this.store.mergeTasks(run.generation, this.store.maxMergeLevel(run.generation));
    const only = tasks.length === 1 ? tasks[0]! : undefined;
    return only?.input.kind === "merge" && only.input.final && only.status === "succeeded" ? (only.output ?? undefined) : undefined;
  }

  private async advanceMerge(run: RunRow, pipeline: Pipeline, now: number): Promise<void> {
    const level = this.store.maxMergeLevel(run.generation);
    const tasks = this.store.mergeTasks(run.generation, level);
    const failed = tasks.find((t) => t.status !== "succeeded");
    if (failed) return this.finish("failed", `aggregation task ${failed.id} failed: ${failed.error?.message ?? "unknown error"}`, now);
    const only = tasks.length === 1 ? tasks[0]! : undefined;
    if (only?.input.kind === "merge" && only.input.final) {
      const output = only.output!;
      this.store.phaseFinished("aggregate", now);
      await this.writeAggregate(run, pipeline, output, now);
      if (run.kind === "compaction") {
        await publish(this.env.BUCKET, this.store, run, output, now); // its inputs each passed their run's quality
        return this.finish("succeeded", null, now, output);
      }
      this.store.setPhase("quality", now);
      return this.quality(this.store.run()!, pipeline, now, output);
    }
    const next = planMergeLevel(
      pipeline,
      run.version!,
      run.generation,
      level + 1,
      tasks.map((t) => t.output!),
    );
    this.ctx.storage.transactionSync(() => this.insert(next));
  }

  /** Measure the checks, write the quality manifest, publish what passed, and end the run by the verdict. */
  private async quality(run: RunRow, pipeline: Pipeline, now: number, output?: OutputFile): Promise<void> {
    const verdict = await judgeQuality(this.env.BUCKET, this.store, run, pipeline, now, output ?? run.output ?? undefined);
    return this.finish(verdict.status, verdict.reason, now, verdict.output);
  }

  static {
    meterRequests(this.prototype, COORDINATOR_REQUESTS);
    meterRequests(this.prototype, COORDINATOR_READS, false);
  }
}
