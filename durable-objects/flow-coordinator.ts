// The flow coordinator: one Durable Object per flow (src/flows/define.ts). It holds the flow's
// runs — one per window, its id from the window — and drives each through its steps: a step is a
// run of a pipeline, submitted to that pipeline's registry, and the registry tells this object
// when the run ends (`stepEnded`). Steps start as soon as the steps they come after succeed
// (src/flows/graph.ts); a failed step is run again while it has retries, else the steps that
// need it never run and the flow run fails. One alarm serves the runs' timeouts, the retries'
// delays and the webhooks. Cancel stops the running steps; re-run starts again from the steps
// that did not succeed, keeping those that did.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../src/env";
import type { Catalog } from "../src/catalog";
import { TERMINAL_FLOW_STATUSES, type Flow, type FlowEvent, type FlowStatus, type FlowStep } from "../src/flows/define";
import { progress } from "../src/flows/graph";
import { flowRunId, stepRunId, type FlowRunView, type FlowStartRequest, type FlowState, type StepState } from "../src/flows/views";
import { nextFiring, scheduledRunId, windowFor } from "../src/pipelines/schedule";
import type { Json } from "../src/types";
import { coordinatorStub } from "./rpc/coordinator";
import { registryStub } from "./rpc/registry";
import type { FlowSteps } from "./rpc/flow-steps";
import { FlowStore, type FlowRunRow } from "./flows/store";
import { Notifier } from "./notifications";
import { Refusal } from "../src/errors";

const ENDED_OK = ["succeeded", "partial"];

/** A step with no row yet (its flow run was made before the step was added to the flow). */
const NOT_STARTED: StepState = { status: "waiting", attempt: 0, runId: null, runStatus: null, startedAt: null, finishedAt: null, nextAt: null, reason: null };

/** Unbound: `createSluice` makes the class a deployment exports, bound to its catalog. */
export abstract class FlowCoordinator extends DurableObject<Env> implements FlowSteps {
  protected abstract get catalog(): Catalog;
  private readonly store: FlowStore;
  private readonly notifier: Notifier;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new FlowStore(ctx.storage.sql);
    this.notifier = new Notifier(ctx.storage.sql, env);
  }

  /** The flow as this environment runs it (its schedules' crons and pauses). */
  private flow(name?: string): Flow {
    const flowName = name ?? this.store.get("flow");
    if (!flowName) throw new Error("flow coordinator has no flow yet");
    if (name) this.store.set("flow", name);
    return this.catalog.deployedFlow(this.env, this.catalog.getFlow(flowName));
  }

  /** Start a run of the flow for a window; idempotent by its id (a cron firing twice makes one run). */
  async start(flowName: string, request: FlowStartRequest): Promise<{ runId: string; status: FlowStatus; created: boolean }> {
    const flow = this.flow(flowName);
    const runId = request.runId ?? flowRunId(flow.name, request.window);
    const existing = this.store.run(runId);
    if (existing) return { runId, status: existing.status, created: false };
    const now = Date.now();
    const run = {
      id: runId,
      window: request.window,
      status: "queued" as const,
      trigger: request.trigger,
      schedule: request.schedule ?? null,
      force: request.force ?? false,
      createdAt: now,
    };
    this.store.insert(
      run,
      flow.steps.map((s) => s.name),
    );
    await this.pump(flow);
    return { runId, status: this.store.run(runId)!.status, created: true };
  }

  /** A cron firing of one of the flow's schedules: the window it covers, unless the schedule is paused. */
  async fire(
    flowName: string,
    scheduleName: string,
    scheduledTime: number,
  ): Promise<{ outcome: "started" | "skipped_paused" | "nothing_new"; runs: string[] }> {
    const flow = this.flow(flowName);
    const schedule = flow.schedules.find((s) => s.name === scheduleName);
    if (!schedule) throw new Error(`flow ${flowName} has no schedule ${scheduleName}`);
    if (this.paused(flow, scheduleName)) return { outcome: "skipped_paused", runs: [] };
    const window = windowFor(schedule.window, scheduledTime);
    const runId = scheduledRunId(flow.name, schedule.name, window);
    const result = await this.start(flowName, { runId, window, trigger: "schedule", schedule: schedule.name, force: schedule.fullRefresh ?? false });
    return result.created ? { outcome: "started", runs: [runId] } : { outcome: "nothing_new", runs: [] };
  }

  private paused(flow: Flow, schedule: string): boolean {
    const toggled = this.store.get(`paused:${schedule}`);
    return toggled === null ? flow.schedules.find((s) => s.name === schedule)?.paused === true : toggled === "true";
  }

  /** Pause or resume one schedule over its default; null when the flow has no such schedule. */
  setSchedulePaused(flowName: string, scheduleName: string, paused: boolean): FlowState | null {
    const flow = this.flow(flowName);
    if (!flow.schedules.some((s) => s.name === scheduleName)) return null;
    this.store.set(`paused:${scheduleName}`, String(paused));
    return this.state(flowName);
  }

  /** Begin queued runs while fewer than maxConcurrentRuns are running. */
  private async pump(flow: Flow): Promise<void> {
    for (let next = this.store.nextQueued(); next && this.store.countRunning() < flow.maxConcurrentRuns; next = this.store.nextQueued()) {
      const now = Date.now();
      this.store.begin(next.id, now, flow.timeoutMs === null ? null : now + flow.timeoutMs);
      this.announce(flow, this.store.run(next.id)!, "running");
      await this.advance(flow, next.id);
    }
    await this.arm();
  }

  /** Start what can start, give up on what cannot run, and end the run when nothing is open. */
  private async advance(flow: Flow, runId: string): Promise<void> {
    for (;;) {
      const run = this.store.run(runId);
      if (!run || run.status !== "running") return;
      const steps = new Map(this.store.steps(runId).map((s) => [s.step, s.status]));
      const next = progress(flow.steps, steps);
      const now = Date.now();
      for (const name of next.blocked)
        this.store.setStep(runId, name, { status: "upstream_failed", finishedAt: now, reason: "a step it comes after did not succeed" });
      if (next.outcome) {
        const failed = this.store
          .steps(runId)
          .filter((s) => s.status === "failed")
          .map((s) => s.step);
        this.store.finish(runId, next.outcome, now, next.outcome === "failed" ? `step${failed.length > 1 ? "s" : ""} ${failed.join(", ")} failed` : null);
        this.announce(flow, this.store.run(runId)!, next.outcome);
        await this.pump(flow);
        return;
      }
      if (next.start.length === 0) return;
      for (const name of next.start)
        await this.submitStep(
          flow,
          run,
          flow.steps.find((s) => s.name === name)!,
        );
    }
  }

  /** Submit the step's next attempt to its pipeline's registry (recorded first: its end may arrive before the answer). */
  private async submitStep(flow: Flow, run: FlowRunRow, step: FlowStep): Promise<void> {
    // Only a waiting or retrying step starts: a step another call started meanwhile (its end may
    // interleave with this loop) is not started twice.
    const current = this.store.step(run.id, step.name);
    if (!current || (current.status !== "waiting" && current.status !== "retrying")) return;
    const attempt = current.attempt + 1;
    const id = stepRunId(run.id, step.name, attempt);
    this.store.startStep(run.id, step.name, id, Date.now());
    let ended: { status: string; reason: string } | null = null;
    try {
      const pipeline = this.catalog.get(step.pipeline);
      const params = pipeline.paramsSchema.parse(step.params(run.window)) as Json;
      const result = await registryStub(this.env, pipeline.name).submit(pipeline.name, {
        runId: id,
        params,
        options: run.force ? { force: true } : {},
        lane: "main",
        trigger: "flow",
        window: run.window,
        flow: { name: flow.name, run: run.id, step: step.name },
      });
      if (result.status === "skipped") ended = { status: "failed", reason: `pipeline ${pipeline.name} is busy and skips runs (whenBusy: skip)` };
      else if (!result.created && ["succeeded", "partial", "failed", "timed_out", "cancelled"].includes(result.status))
        ended = { status: result.status, reason: `run ${id} had already ended ${result.status}` };
    } catch (err) {
      ended = { status: "failed", reason: `could not start: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (ended) await this.stepEnded(flow.name, run.id, step.name, id, ended.status, ended.reason);
  }

  /**
   * The pipeline run of a step ended (its registry calls this). Idempotent: a report for another
   * attempt, or for a step no longer running, changes nothing.
   */
  async stepEnded(flowName: string, runId: string, stepName: string, stepRun: string, status: string, reason: string | null): Promise<void> {
    const flow = this.flow(flowName);
    const step = this.store.step(runId, stepName);
    const definition = flow.steps.find((s) => s.name === stepName);
    if (!step || !definition || step.status !== "running" || step.runId !== stepRun) return;
    const now = Date.now();
    if (ENDED_OK.includes(status)) {
      this.store.setStep(runId, stepName, { status: "succeeded", runStatus: status, finishedAt: now });
    } else if (status !== "cancelled" && step.attempt <= definition.retries) {
      const nextAt = now + definition.retryDelayMs;
      this.store.setStep(runId, stepName, { status: "retrying", runStatus: status, finishedAt: now, nextAt, reason });
      if (definition.retryDelayMs === 0) await this.submitStep(flow, this.store.run(runId)!, definition);
      else await this.arm();
    } else {
      this.store.setStep(runId, stepName, { status: "failed", runStatus: status, finishedAt: now, reason });
      this.announce(flow, this.store.run(runId)!, "step_failed", stepName);
    }
    await this.advance(flow, runId);
  }

  /** Cancel a run: its running steps' runs are cancelled, its waiting steps never start. */
  async cancel(flowName: string, runId: string): Promise<FlowRunView> {
    const flow = this.flow(flowName);
    const run = this.existing(flow, runId);
    if (TERMINAL_FLOW_STATUSES.includes(run.status)) throw new Refusal("run_ended", `flow run ${runId} has already ended`);
    await this.stop(flow, run, "cancelled", "cancelled by request");
    return this.view(flowName, runId)!;
  }

  private async stop(flow: Flow, run: FlowRunRow, status: "cancelled" | "timed_out", reason: string): Promise<void> {
    const now = Date.now();
    const running = this.store.steps(run.id).filter((s) => s.status === "running" || s.status === "retrying" || s.status === "waiting");
    this.store.finish(run.id, status, now, reason);
    for (const s of running) this.store.setStep(run.id, s.step, { status: "cancelled", finishedAt: now, reason });
    for (const s of running) {
      if (s.status !== "running" || !s.runId) continue;
      try {
        await coordinatorStub(this.env, s.runId).cancel(`flow run ${run.id} ${status === "timed_out" ? "timed out" : "cancelled"}`);
      } catch (err) {
        console.error(`flow ${flow.name}: could not cancel step ${s.step}'s run ${s.runId}`, err);
      }
    }
    this.announce(flow, this.store.run(run.id)!, status);
    await this.pump(flow);
  }

  /**
   * Re-run an ended run that did not succeed from the steps that did not: those that succeeded
   * keep their runs; the others start again as new attempts, once the steps they need have succeeded.
   */
  async rerun(flowName: string, runId: string): Promise<FlowRunView> {
    const flow = this.flow(flowName);
    const run = this.existing(flow, runId);
    if (!TERMINAL_FLOW_STATUSES.includes(run.status)) throw new Refusal("run_active", `flow run ${runId} has not ended: cancel it first, or wait`);
    if (run.status === "succeeded") throw new Refusal("run_succeeded", `flow run ${runId} succeeded: every step has its output`);
    for (const s of this.store.steps(runId)) if (s.status !== "succeeded") this.store.setStep(runId, s.step, { status: "waiting" });
    this.store.requeue(runId);
    await this.pump(flow);
    return this.view(flowName, runId)!;
  }

  private existing(flow: Flow, runId: string): FlowRunRow {
    const run = this.store.run(runId);
    if (!run) throw new Refusal("not_found", `run ${runId} of flow ${flow.name} not found`);
    return run;
  }

  override async alarm(): Promise<void> {
    const flow = this.flow();
    const now = Date.now();
    for (const run of this.store.overdue(now))
      await this.stop(flow, run, "timed_out", `the flow ran longer than its timeout (${Math.round(flow.timeoutMs! / 1000)} s)`);
    for (const { runId, step } of this.store.dueRetries(now)) {
      const run = this.store.run(runId);
      const definition = flow.steps.find((s) => s.name === step);
      if (run?.status === "running" && definition) await this.submitStep(flow, run, definition);
    }
    await this.notifier.deliver(now);
    await this.arm();
  }

  /** One alarm for the earliest of: a timeout, a retry, a webhook due. */
  private async arm(): Promise<void> {
    const due = [this.store.nextDue(), this.notifier.nextDue()].filter((t): t is number => t !== null);
    if (due.length > 0) await this.ctx.storage.setAlarm(Math.min(...due));
    else await this.ctx.storage.deleteAlarm();
  }

  /** Store the webhooks this event calls (delivered from the alarm). */
  private announce(flow: Flow, run: FlowRunRow, event: FlowEvent, step?: string): void {
    const targets = flow.notify.filter((n) => n.on.includes(event));
    if (targets.length === 0) return;
    const body = { event, flow: flow.name, ...(step ? { step } : {}), run: this.viewOf(flow, run) };
    for (const { on: _on, ...target } of targets) this.notifier.add(target, body, Date.now());
  }

  private viewOf(flow: Flow, run: FlowRunRow): FlowRunView {
    const rows = new Map(this.store.steps(run.id).map((s) => [s.step, s]));
    return {
      ...run,
      flow: flow.name,
      steps: flow.steps.map(({ name, pipeline, after, retries }) => {
        const { step: _step, ...state } = rows.get(name) ?? { step: name, ...NOT_STARTED };
        return { name, pipeline, after, retries, ...state };
      }),
    };
  }

  view(flowName: string, runId: string): FlowRunView | null {
    const flow = this.flow(flowName);
    const run = this.store.run(runId);
    return run ? this.viewOf(flow, run) : null;
  }

  list(flowName: string, filter: { status?: FlowStatus; limit: number }): FlowRunView[] {
    const flow = this.flow(flowName);
    return this.store.runs(filter.limit, filter.status).map((r) => this.viewOf(flow, r));
  }

  state(flowName: string): FlowState {
    const flow = this.flow(flowName);
    const now = new Date();
    return {
      name: flow.name,
      description: flow.description,
      timeoutMs: flow.timeoutMs,
      maxConcurrentRuns: flow.maxConcurrentRuns,
      steps: flow.steps.map((s) => ({ name: s.name, pipeline: s.pipeline, after: s.after, retries: s.retries, retryDelayMs: s.retryDelayMs })),
      schedules: flow.schedules.map((s) => ({
        name: s.name,
        cron: s.cron,
        window: s.window,
        paused: this.paused(flow, s.name),
        fullRefresh: s.fullRefresh ?? false,
        nextFiring: nextFiring(s.cron, now)?.toISOString() ?? null,
      })),
      runs: this.list(flowName, { limit: 20 }),
    };
  }

  notifications(): ReturnType<Notifier["list"]> {
    return this.notifier.list();
  }
}
