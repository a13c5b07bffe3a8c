// The pipeline registry: one Durable Object per pipeline. It holds the run index, admits runs
// (at most maxConcurrentRuns at once; the rest wait in a queue, or are refused when the pipeline
// says `skip`), fires the schedules (registry/windows.ts: catch-up, retries of failed windows,
// depends-on-past), compacts their outputs (registry/compaction.ts), pauses and resumes them,
// drives backfills (their own lane, at most max_parallel at once), and counts output versions.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../src/env";
import type { Catalog } from "../src/catalog";
import type { Pipeline } from "../src/pipelines/define";
import { compactionWindow, nameOf, nextFiring, windowFor, type DateWindow, type Schedule, type Trigger } from "../src/pipelines/schedule";
import { coordinatorStub } from "./rpc/coordinator";
import { flowStepsStub } from "./rpc/flow-steps";
import type { RunLedger } from "./rpc/ledger";
import { stubOf } from "./rpc/types";
import { triggerRunId, triggerWindow, type TriggerWindow } from "./registry/triggers";
import { TERMINAL_RUN_STATUSES, type Json, type RunStatus, type RunSummary } from "../src/types";
import { placeholder, publishedOutput, RegistryStore, shownStatus, type Firing, type IndexedRun, type RunRequest } from "./registry/store";
import type { BackfillView, BackfillWindowResult, PipelineState, RunPage, SubmitResult } from "./registry/views";
export type { BackfillView, BackfillWindowResult, PipelineState, RunPage, SubmitResult } from "./registry/views";
import { compactLate, compactWindow } from "./registry/compaction";
import { DEFAULT_CATCH_UP, DEFAULT_WINDOW_ATTEMPTS, planFiring, settledThrough, windowState, type FiringPlan, type WindowState } from "./registry/windows";

/** Windows of each schedule shown in its state. */
const WINDOWS_SHOWN = 14;
const isTerminal = (s: string) => (TERMINAL_RUN_STATUSES as readonly string[]).includes(s);

/** Unbound: `createSluice` makes the class a deployment exports, bound to its catalog. */
export abstract class PipelineRegistry extends DurableObject<Env> implements RunLedger {
  /** The deployment's pipelines: `createSluice` binds the class to them. */
  protected abstract get catalog(): Catalog;
  private readonly store: RegistryStore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new RegistryStore(ctx.storage.sql);
  }

  /** The pipeline as this environment runs it (its schedules' crons and pauses, its source limits). */
  private deployed(name: string): Pipeline {
    return this.catalog.deployed(this.env, this.catalog.get(name));
  }

  /** Whether a schedule's firings start nothing: the pipeline is paused, or the schedule (by a toggle, else by default). */
  private paused(schedule: Schedule): boolean {
    if (this.store.get("paused") === "true") return true;
    const toggled = this.store.get(`paused:${schedule.name}`);
    return toggled === null ? schedule.paused === true : toggled === "true";
  }

  private pipeline(): Pipeline {
    const name = this.store.get("pipeline");
    if (!name) throw new Error("registry has no pipeline yet");
    return this.deployed(name);
  }

  /**
   * Admit a run: idempotent by run id. It waits in its lane's queue until there is room, or is
   * refused (`skipped`) when the pipeline is busy and says `skip`.
   */
  async submit(pipelineName: string, request: RunRequest): Promise<SubmitResult> {
    this.store.set("pipeline", pipelineName);
    const existing = this.store.run(request.runId);
    if (existing) return { runId: request.runId, status: shownStatus(existing.status), created: false };
    const pipeline = this.deployed(pipelineName);
    if (request.lane === "main" && pipeline.whenBusy === "skip" && this.store.active("main") >= pipeline.maxConcurrentRuns) {
      return { runId: request.runId, status: "skipped", created: false };
    }
    const now = Date.now();
    this.store.insert(request, placeholder(request, pipelineName, now));
    const start = () =>
      coordinatorStub(this.env, request.runId).create({
        runId: request.runId,
        pipeline: pipelineName,
        params: request.params,
        options: request.options,
        now,
        queued: true,
      });
    try {
      await start();
    } catch {
      // Once more (a reset coordinator comes back and plans again from the start); a second
      // failure ends the run here, with its reason, so it holds no place in the lane.
      try {
        await start();
      } catch (err) {
        const reason = `could not start: ${err instanceof Error ? err.message : String(err)}`;
        this.store.record({ ...placeholder(request, pipelineName, now), status: "failed", reason, finishedAt: Date.now() });
        return { runId: request.runId, status: "failed", created: true };
      }
    }
    await this.pump();
    const run = this.store.run(request.runId)!;
    return { runId: request.runId, status: shownStatus(run.status), created: true };
  }

  /** A coordinator's summary. A run that ended makes room for the next one. */
  async record(summary: RunSummary): Promise<void> {
    const run = this.store.record(summary);
    if (!run) return;
    // A queued run's coordinator has its plan (again, after a reset cut it short): it may begin.
    if (summary.status === "queued" && this.store.get("pipeline")) return this.pump();
    if (!isTerminal(summary.status)) return;
    const request = run.request;
    const schedule = request?.schedule ? this.pipeline().schedules.find((s) => s.name === request.schedule) : undefined;
    const latest = schedule ? this.store.windows(schedule.name, 1)[0] : undefined;
    if (schedule && latest) {
      const mark = settledThrough(this.store, schedule, latest);
      if (mark !== null) this.store.advanceWatermark(schedule.name, mark);
      // A window that waited on this one starts now, not at the next firing.
      if (schedule.dependsOnPast && summary.status === "succeeded") await this.continueSchedule(schedule);
    }
    if (request?.schedule && request.window && publishedOutput(run)) await compactLate(this.store, this.env, this.pipeline(), request.schedule, request.window);
    // Pipelines triggered by this one's data hear of each window it delivered.
    if (request?.window && (summary.status === "succeeded" || summary.status === "partial")) {
      for (const { pipeline, trigger } of this.catalog.downstreamOf(summary.pipeline)) {
        await stubOf<PipelineRegistry>(this.env.PIPELINE_REGISTRY, pipeline.name).delivered(
          pipeline.name,
          trigger.name,
          summary.pipeline,
          request.window,
          summary.id,
        );
      }
    }
    // A flow's step: its flow hears (a failure to tell it fails this call, and the coordinator's report is tried again).
    if (request?.flow)
      await flowStepsStub(this.env, request.flow.name).stepEnded(
        request.flow.name,
        request.flow.run,
        request.flow.step,
        summary.id,
        summary.status,
        summary.reason,
      );
    if (this.store.get("pipeline")) await this.pump();
  }

  /** Start waiting runs while their lanes have room. */
  private async pump(): Promise<void> {
    for (;;) {
      const pipeline = this.pipeline();
      const next = this.store.waiting().find((r) => this.store.active(r.lane) < this.capacity(r.lane, pipeline));
      if (!next) return;
      this.store.setStatus(next.id, "starting");
      try {
        await coordinatorStub(this.env, next.id).startQueued();
      } catch (err) {
        this.store.setStatus(next.id, "queued");
        console.error(`registry ${pipeline.name}: could not start ${next.id}`, err);
        return;
      }
    }
  }

  private capacity(lane: string, pipeline: Pipeline): number {
    if (lane === "main") return pipeline.maxConcurrentRuns;
    return this.store.backfill(lane.slice("backfill:".length))?.maxParallel ?? 1;
  }

  /** Records a firing's outcome (paused, nothing new, or the runs it started) and returns it. */
  private firingLog(schedule: string, cron: string, scheduledTime: number) {
    const at = Date.now();
    return (outcome: Firing["outcome"], runs: string[]) => {
      this.store.addFiring({ schedule, cron, scheduledTime, outcome, runs, at });
      return { outcome, runs };
    };
  }

  /**
   * A cron firing of one schedule: the window it covers, the missed ones (catch-up) and the failed
   * ones with attempts left; with dependsOnPast, none after a window that has not succeeded.
   */
  async fire(pipelineName: string, scheduleName: string, scheduledTime: number): Promise<{ outcome: Firing["outcome"]; runs: string[] }> {
    this.store.set("pipeline", pipelineName);
    const pipeline = this.deployed(pipelineName);
    const schedule = pipeline.schedules.find((s) => s.name === scheduleName);
    if (!schedule) throw new Error(`pipeline ${pipelineName} has no schedule ${scheduleName}`);
    const log = this.firingLog(scheduleName, schedule.cron, scheduledTime);
    if (this.paused(schedule)) return log("skipped_paused", []);
    // The first firing anchors the schedule: windows before its own are not caught up.
    if (this.store.watermark(scheduleName) === null) this.store.advanceWatermark(scheduleName, windowFor(schedule.window, scheduledTime).from);
    const plan = planFiring(this.store, pipelineName, schedule, scheduledTime);
    const started = await this.startWindows(pipeline, schedule, plan);
    return log(started.length > 0 ? "started" : plan.waiting.length > 0 ? "waiting_on_past" : "nothing_new", started);
  }

  /** Start what the schedule's last firing left waiting (dependsOnPast), as that firing would now. */
  private async continueSchedule(schedule: Schedule): Promise<void> {
    const last = this.store.firings(50).find((f) => f.schedule === schedule.name && f.outcome !== "skipped_paused");
    if (!last || this.paused(schedule)) return;
    const pipeline = this.pipeline();
    await this.startWindows(pipeline, schedule, planFiring(this.store, pipeline.name, schedule, Date.parse(last.scheduledTime)));
  }

  /** Submit the runs a firing plan starts; returns the ids of those created. */
  private async startWindows(pipeline: Pipeline, schedule: Schedule, plan: FiringPlan): Promise<string[]> {
    const started: string[] = [];
    for (const { window, runId } of plan.start) {
      const params = pipeline.paramsSchema.parse(schedule.params(window)) as Json;
      const options = schedule.fullRefresh ? { force: true } : {};
      const result = await this.submit(pipeline.name, { runId, params, options, lane: "main", trigger: "schedule", schedule: schedule.name, window });
      if (result.created) started.push(runId);
    }
    return started;
  }

  /**
   * An upstream's run of `window` succeeded: the trigger's window starts once every pipeline it
   * waits on has delivered it (and the pipeline is not paused). Idempotent: the run's id is the
   * trigger's and the window's.
   */
  async delivered(pipelineName: string, triggerName: string, upstream: string, window: DateWindow, runId: string): Promise<TriggerWindow> {
    this.store.set("pipeline", pipelineName);
    const pipeline = this.deployed(pipelineName);
    const trigger = pipeline.triggers.find((t) => t.name === triggerName);
    if (!trigger) throw new Error(`pipeline ${pipelineName} has no trigger ${triggerName}`);
    this.store.addTriggerInput(trigger.name, window, upstream, runId, Date.now());
    const state = triggerWindow(this.store, pipeline.name, trigger, window);
    if (state.status !== "ready" || this.store.get("paused") === "true") return state;
    await this.startTriggerWindow(pipeline, trigger, window);
    return triggerWindow(this.store, pipeline.name, trigger, window);
  }

  /** Pause or resume one schedule (over its default); the pipeline's own pause still holds them all. */
  setSchedulePaused(pipelineName: string, scheduleName: string, paused: boolean): PipelineState | null {
    this.store.set("pipeline", pipelineName);
    if (!this.deployed(pipelineName).schedules.some((s) => s.name === scheduleName)) return null;
    this.store.set(`paused:${scheduleName}`, String(paused));
    return this.state(pipelineName);
  }

  /** The run of a trigger's window, once every upstream delivered it (its id makes it once). */
  private async startTriggerWindow(pipeline: Pipeline, trigger: Trigger, window: DateWindow): Promise<void> {
    const params = pipeline.paramsSchema.parse(trigger.params(window)) as Json;
    const runId = triggerRunId(pipeline.name, trigger.name, window);
    await this.submit(pipeline.name, { runId, params, options: {}, lane: "main", trigger: "data", schedule: trigger.name, window });
  }

  /** Pause or resume the pipeline. On resume, trigger windows delivered while it was paused start. */
  async setPaused(pipelineName: string, paused: boolean): Promise<PipelineState> {
    this.store.set("pipeline", pipelineName);
    this.store.set("paused", String(paused));
    if (!paused) {
      const pipeline = this.deployed(pipelineName);
      for (const trigger of pipeline.triggers) {
        for (const window of this.store.triggerWindows(trigger.name, WINDOWS_SHOWN)) {
          if (triggerWindow(this.store, pipeline.name, trigger, window).status === "ready") await this.startTriggerWindow(pipeline, trigger, window);
        }
      }
    }
    return this.state(pipelineName);
  }

  state(pipelineName: string): PipelineState {
    const pipeline = this.deployed(pipelineName);
    const now = new Date();
    const recent = this.store.list({ limit: 1000 });
    const ids = (status: string) => recent.filter((r) => r.status === status).map((r) => r.id);
    return {
      name: pipeline.name,
      paused: this.store.get("paused") === "true",
      maxConcurrentRuns: pipeline.maxConcurrentRuns,
      whenBusy: pipeline.whenBusy,
      schedules: pipeline.schedules.map((s) => ({
        name: s.name,
        cron: s.cron,
        window: s.window,
        catchUp: { ...DEFAULT_CATCH_UP, attempts: DEFAULT_WINDOW_ATTEMPTS, ...s.catchUp },
        dependsOnPast: s.dependsOnPast ?? false,
        paused: this.paused(s),
        fullRefresh: s.fullRefresh ?? false,
        watermark: this.store.watermark(s.name),
        nextFiring: nextFiring(s.cron, now)?.toISOString() ?? null,
        windows: this.windowStates(s),
      })),
      queued: ids("queued"),
      running: [...ids("running"), ...ids("starting")],
      triggers: pipeline.triggers.map((t) => ({
        name: t.name,
        after: t.after,
        windows: this.store.triggerWindows(t.name, WINDOWS_SHOWN).map((w) => triggerWindow(this.store, pipeline.name, t, w)),
      })),
      firings: this.store.firings(20),
      backfills: this.store.backfills(20),
    };
  }

  /** One run per window, in their own lane, at most `maxParallel` at once. */
  async backfill(
    pipelineName: string,
    spec: { id: string; windows: DateWindow[]; params: Json; force: boolean; maxParallel: number; request: Json },
  ): Promise<BackfillView> {
    this.store.set("pipeline", pipelineName);
    const pipeline = this.deployed(pipelineName);
    const now = Date.now();
    this.store.addBackfill(spec.id, spec.request, spec.maxParallel, now);
    for (const window of spec.windows) {
      const runId = `${pipelineName}-${spec.id}-${nameOf(window).name.toLowerCase()}`;
      const params = pipeline.paramsSchema.parse({ ...(spec.params as object), from: window.from, to: window.to }) as Json;
      const request: RunRequest = { runId, params, options: spec.force ? { force: true } : {}, lane: `backfill:${spec.id}`, trigger: "backfill", window };
      if (this.store.run(runId)) continue;
      this.store.insert(request, placeholder(request, pipelineName, now));
      await coordinatorStub(this.env, runId).create({ runId, pipeline: pipelineName, params, options: request.options, now, queued: true });
    }
    await this.pump();
    return this.backfillView(pipelineName, spec.id)!;
  }

  backfillView(pipelineName: string, id: string): BackfillView | null {
    const b = this.store.backfill(id);
    if (!b) return null;
    const runs = this.store.lane(`backfill:${id}`);
    const windows = runs.map((r): BackfillWindowResult => {
      const w = r.request?.window ?? { from: "", to: "" };
      return { window: nameOf(w).name, from: w.from, to: w.to, runId: r.id, status: r.status, reason: r.summary.reason };
    });
    const counts: Record<string, number> = {};
    for (const w of windows) counts[w.status] = (counts[w.status] ?? 0) + 1;
    const ended = windows.filter((w) => isTerminal(w.status));
    const ok = ended.filter((w) => w.status === "succeeded").length;
    const status: BackfillView["status"] =
      ended.length < windows.length
        ? "running"
        : windows.every((w) => w.status === "cancelled")
          ? "cancelled"
          : ok === windows.length
            ? "succeeded"
            : ok === 0 && !ended.some((w) => w.status === "partial")
              ? "failed"
              : "partial";
    return { id, pipeline: pipelineName, status, maxParallel: b.maxParallel, createdAt: new Date(b.createdAt).toISOString(), counts, windows, spec: b.spec };
  }

  /** Output runs of a schedule within [from, to): for compaction. */
  scheduledRuns(schedule: string, from: string, to: string): IndexedRun[] {
    return this.store.scheduled(schedule, from, to);
  }

  /**
   * A compaction's cron firing: merge the outputs of the previous month's (or quarter's) runs of
   * one schedule into one file of the dataset `<pipeline>-<compaction>`. Idempotent per window
   * and inputs.
   */
  async compactFiring(pipelineName: string, name: string, scheduledTime: number): Promise<{ outcome: Firing["outcome"]; runs: string[] }> {
    this.store.set("pipeline", pipelineName);
    const pipeline = this.deployed(pipelineName);
    const compaction = pipeline.compactions.find((c) => c.name === name);
    if (!compaction) throw new Error(`pipeline ${pipelineName} has no compaction ${name}`);
    const log = this.firingLog(`compact:${name}`, compaction.cron, scheduledTime);
    if (this.store.get("paused") === "true") return log("skipped_paused", []);
    const runId = await compactWindow(this.store, this.env, pipelineName, compaction, windowFor(compactionWindow(compaction), scheduledTime));
    return runId ? log("started", [runId]) : log("nothing_new", []);
  }

  /** Re-run the quality phase of the runs that ended since `since` (succeeded or partial). */
  async qualitySweep(pipelineName: string, since: number): Promise<string[]> {
    this.store.set("pipeline", pipelineName);
    const recent = this.store
      .list({ limit: 500 })
      .filter((r) => (r.status === "succeeded" || r.status === "partial") && (r.summary.finishedAt ?? 0) >= since && publishedOutput(r));
    const checked: string[] = [];
    for (const r of recent) {
      const view = await coordinatorStub(this.env, r.id).view();
      if (!view?.published) continue;
      try {
        await coordinatorStub(this.env, r.id).rerun("quality", view.params);
        checked.push(r.id);
      } catch (err) {
        console.warn(`quality sweep: ${r.id} not re-checked: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return checked;
  }

  allocateVersion(window: string): number {
    return this.store.allocateVersion(window);
  }

  /**
   * The schedule's recent windows, newest first: each with its last attempt's status (or
   * `gave_up`), and, with dependsOnPast, the ones the last firing left waiting.
   */
  private windowStates(schedule: Schedule): WindowState[] {
    const withRuns = this.store.windows(schedule.name, WINDOWS_SHOWN).map((w) => windowState(schedule, w, this.store.attempts(schedule.name, w.from)));
    const last = this.store.firings(50).find((f) => f.schedule === schedule.name && f.outcome !== "skipped_paused");
    if (!schedule.dependsOnPast || !last) return withRuns;
    const waiting = planFiring(this.store, this.pipeline().name, schedule, Date.parse(last.scheduledTime)).waiting;
    return [...waiting.reverse().map((window): WindowState => ({ window, status: "waiting", attempts: 0, runId: null })), ...withRuns].slice(0, WINDOWS_SHOWN);
  }

  /** Newest first. `before` is the cursor of the previous page (`<createdAt>:<id>`). */
  list(filter: { status?: RunStatus; before?: string; limit: number }): RunPage {
    const rows = this.store.list({ ...filter, limit: filter.limit + 1 });
    const runs = rows.slice(0, filter.limit).map((r) => ({ ...r.summary, status: shownStatus(r.status) }) as RunSummary);
    const last = runs[runs.length - 1];
    return { runs, next: rows.length > filter.limit && last ? `${last.createdAt}:${last.id}` : null };
  }
}
