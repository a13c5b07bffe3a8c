// The pipelines one deployment runs. `createSluice` builds it from the list a user passes and
// hands it to everything that needs a pipeline by name — the routes, the queue consumer, the cron
// handler and the Durable Objects — so nothing looks pipelines up in a module-level list.
import type { Env } from "./env";
import type { Pipeline } from "./pipelines/define";
import type { Trigger } from "./pipelines/schedule";
import type { Flow } from "./flows/define";
import { notifyFor, qualityFor, schedulesFor } from "./pipelines/environment";
import { checkSharedSources, sourceFor } from "./pipelines/source-limits";
import { SAMPLE_ORIGIN, sampleEnabled } from "./upstream/fetch";

/** A pipeline that reads the sample upstream: it runs only where that is enabled (never in production). */
export const readsSample = (pipeline: Pipeline) => pipeline.source.baseUrl.startsWith(SAMPLE_ORIGIN);

type Settings = Pick<Env, "SAMPLE_UPSTREAM" | "SLUICE_SOURCE_LIMITS" | "SLUICE_SCHEDULES" | "SLUICE_NOTIFY" | "SLUICE_QUALITY">;

/**
 * Throws unless every trigger waits on pipelines of the catalog, and no pipeline waits on itself
 * through its triggers (a cycle would never run). A pipeline added later may complete a trigger.
 */
function checkTriggers(pipelines: readonly Pipeline[]): void {
  const names = new Set(pipelines.map((p) => p.name));
  const after = new Map(pipelines.map((p) => [p.name, p.triggers.flatMap((t) => t.after)]));
  for (const p of pipelines) {
    for (const t of p.triggers) {
      const unknown = t.after.filter((a) => !names.has(a));
      if (unknown.length > 0) throw new Error(`pipeline ${p.name}, trigger ${t.name}: no pipeline named ${unknown.join(", ")} in the catalog`);
    }
    // Depth-first from p through what it waits on: reaching p again is a cycle.
    const seen = new Set<string>();
    const stack = [...(after.get(p.name) ?? [])];
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (next === p.name) throw new Error(`pipeline ${p.name} waits on itself through its triggers: a cycle never runs`);
      if (!seen.has(next)) (seen.add(next), stack.push(...(after.get(next) ?? [])));
    }
  }
}

/** Throws unless a derived pipeline reads a pipeline of the catalog, and every lookup of its gold datasets does. */
function checkDerived(pipeline: Pipeline, pipelines: ReadonlyMap<string, Pipeline>): void {
  if (pipeline.derived && !pipelines.has(pipeline.derived.pipeline))
    throw new Error(`pipeline ${pipeline.name} reads ${pipeline.derived.pipeline}, which is not in the catalog`);
  for (const d of pipeline.gold) {
    if (d.lookup && !pipelines.has(d.lookup.from.name))
      throw new Error(`pipeline ${pipeline.name}, gold dataset ${d.name}: its lookup reads ${d.lookup.from.name}, which is not in the catalog`);
  }
}

/** Throws unless every step of the flow runs a pipeline of the catalog, and its name is no pipeline's. */
function checkFlow(flow: Flow, pipelines: ReadonlyMap<string, Pipeline>): void {
  if (pipelines.has(flow.name)) throw new Error(`flow ${flow.name}: a pipeline has that name (schedules and settings name both: use another)`);
  for (const step of flow.steps) {
    if (!pipelines.has(step.pipeline)) throw new Error(`flow ${flow.name}, step ${step.name}: no pipeline named ${step.pipeline} in the catalog`);
  }
}

export class Catalog {
  private readonly byName = new Map<string, Pipeline>();
  private readonly flowsByName = new Map<string, Flow>();

  /** Throws when two pipelines or flows share a name, a source is declared with different limits, or a flow's step has no pipeline. */
  constructor(pipelines: readonly Pipeline[] = [], flows: readonly Flow[] = []) {
    for (const p of pipelines) {
      if (this.byName.has(p.name)) throw new Error(`two pipelines are named ${p.name}: names must be unique`);
      this.byName.set(p.name, p);
    }
    checkSharedSources(pipelines);
    checkTriggers(this.pipelines);
    for (const p of pipelines) checkDerived(p, this.byName);
    for (const f of flows) this.addFlow(f);
  }

  /** Every flow declared, in the order given. */
  get flows(): Flow[] {
    return [...this.flowsByName.values()];
  }

  /** Add a flow (tests that define their own); the same definition again does nothing. */
  addFlow(flow: Flow): void {
    const known = this.flowsByName.get(flow.name);
    if (known === flow) return;
    if (known) throw new Error(`a flow named ${flow.name} is already in the catalog`);
    checkFlow(flow, this.byName);
    this.flowsByName.set(flow.name, flow);
  }

  /** The declared flow, or undefined. */
  findFlow(name: string): Flow | undefined {
    return this.flowsByName.get(name);
  }

  getFlow(name: string): Flow {
    const flow = this.flowsByName.get(name);
    if (!flow) throw new Error(`unknown flow ${name}`);
    return flow;
  }

  /** The flows this environment runs (a flow with a step on the sample upstream only where that is enabled), as it runs them. */
  runnableFlows(env: Settings): Flow[] {
    return this.flows.filter((f) => f.steps.every((s) => this.runnableNamed(env, s.pipeline) !== undefined)).map((f) => this.deployedFlow(env, f));
  }

  /** The flow with this environment's schedule settings (`SLUICE_SCHEDULES`, keyed "<flow>/<schedule>"). */
  deployedFlow(env: Pick<Settings, "SLUICE_SCHEDULES">, flow: Flow): Flow {
    const schedules = schedulesFor(env, flow);
    return schedules === flow.schedules ? flow : { ...flow, schedules };
  }

  /** Every pipeline declared, in the order given. */
  get pipelines(): Pipeline[] {
    return [...this.byName.values()];
  }

  /**
   * Add a pipeline after the deployment was built (tests that define their own). Adding the same
   * definition again does nothing; another one under a taken name is refused.
   */
  add(pipeline: Pipeline): void {
    const known = this.byName.get(pipeline.name);
    if (known === pipeline) return;
    if (known) throw new Error(`a pipeline named ${pipeline.name} is already in the catalog`);
    if (this.flowsByName.has(pipeline.name)) throw new Error(`pipeline ${pipeline.name}: a flow has that name`);
    checkSharedSources([...this.byName.values(), pipeline]);
    checkTriggers([...this.byName.values(), pipeline]);
    checkDerived(pipeline, this.byName);
    this.byName.set(pipeline.name, pipeline);
  }

  /** The pipelines with a trigger that waits on `upstream`, and those triggers. */
  downstreamOf(upstream: string): { pipeline: Pipeline; trigger: Trigger }[] {
    return this.pipelines.flatMap((pipeline) => pipeline.triggers.filter((t) => t.after.includes(upstream)).map((trigger) => ({ pipeline, trigger })));
  }

  /** The declared pipeline, or undefined (never declared, or removed since a run of it). */
  find(name: string): Pipeline | undefined {
    return this.byName.get(name);
  }

  /** The declared pipeline; throws when there is none. */
  get(name: string): Pipeline {
    const pipeline = this.byName.get(name);
    if (!pipeline) throw new Error(`unknown pipeline ${name}`);
    return pipeline;
  }

  /**
   * The pipelines this environment runs, as it runs them (`deployed`), the sample ones only where
   * the sample upstream is enabled.
   */
  runnable(env: Settings): Pipeline[] {
    return this.pipelines.filter((p) => sampleEnabled(env) || !readsSample(p)).map((p) => this.deployed(env, p));
  }

  /** One pipeline as this environment runs it, or undefined when it does not run it. */
  runnableNamed(env: Settings, name: string): Pipeline | undefined {
    const pipeline = this.byName.get(name);
    return pipeline && (sampleEnabled(env) || !readsSample(pipeline)) ? this.deployed(env, pipeline) : undefined;
  }

  /**
   * The declared pipeline as this environment runs it: its source limits (`SLUICE_SOURCE_LIMITS`),
   * its schedules' crons and pauses (`SLUICE_SCHEDULES`), its webhook targets (`SLUICE_NOTIFY`)
   * and its quality thresholds (`SLUICE_QUALITY`) applied (src/pipelines/environment.ts).
   */
  deployed(env: Omit<Settings, "SAMPLE_UPSTREAM">, pipeline: Pipeline): Pipeline {
    const changed = {
      source: sourceFor(env, pipeline.source),
      schedules: schedulesFor(env, pipeline),
      notify: notifyFor(env, pipeline),
      quality: qualityFor(env, pipeline),
    };
    const same = (Object.keys(changed) as (keyof typeof changed)[]).every((k) => changed[k] === pipeline[k]);
    return same ? pipeline : { ...pipeline, ...changed };
  }
}
