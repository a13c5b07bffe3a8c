// What a deployment's catalog needs of its wrangler config, and where a given config falls short:
// the Durable Object bindings and their SQLite migration, the bucket, the task queue with its
// consumer and dead-letter queue, and the Cron Triggers its pipelines' schedules fire on — so a
// schedule is declared once, in the pipeline, and a test fails when wrangler.toml disagrees.
import type { Catalog } from "./catalog";
import { QUALITY_SWEEP_CRON } from "./scheduled";

/** The parts of a wrangler config (parsed TOML or JSON) this check reads. */
export interface WranglerConfig {
  name?: string;
  vars?: Record<string, unknown>;
  durable_objects?: { bindings?: { name: string; class_name: string }[] };
  migrations?: { new_sqlite_classes?: string[]; new_classes?: string[] }[];
  r2_buckets?: { binding: string }[];
  queues?: { producers?: { binding: string; queue: string }[]; consumers?: { queue: string; dead_letter_queue?: string }[] };
  triggers?: { crons?: string[] };
  send_email?: { name: string }[];
  env?: Record<string, WranglerConfig>;
}

/** The Durable Object bindings sluice uses, and the class each must name. */
export const DURABLE_OBJECTS = { RUN_COORDINATOR: "RunCoordinator", PIPELINE_REGISTRY: "PipelineRegistry", RATE_LIMITER: "RateLimiter" } as const;

/** The binding flows need, only where the catalog declares one. */
export const FLOW_OBJECTS = { FLOW_COORDINATOR: "FlowCoordinator" } as const;

/** The Durable Object bindings this catalog needs. */
const durableObjectsFor = (catalog: Catalog): Record<string, string> => (catalog.flows.length > 0 ? { ...DURABLE_OBJECTS, ...FLOW_OBJECTS } : DURABLE_OBJECTS);

/** The Cron Triggers the pipelines an environment runs need: their schedules', compactions', and the quality sweep. */
export function cronsFor(catalog: Catalog, vars: Record<string, unknown> = {}): string[] {
  const text = (v: unknown) => (typeof v === "string" ? v : undefined);
  const settings = { SAMPLE_UPSTREAM: text(vars.SAMPLE_UPSTREAM), SLUICE_SCHEDULES: text(vars.SLUICE_SCHEDULES) };
  const crons = [
    ...catalog.runnable(settings).flatMap((p) => [...p.schedules.map((s) => s.cron), ...p.compactions.map((c) => c.cron)]),
    ...catalog.runnableFlows(settings).flatMap((f) => f.schedules.map((s) => s.cron)),
  ];
  return [...new Set([...crons, QUALITY_SWEEP_CRON])].sort();
}

/**
 * Every way `config` (top level and each `[env.*]`) falls short of what `catalog` needs, as
 * sentences naming the environment and the fix; empty when it is complete. An environment whose
 * crons are `[]` has its schedules paused (as a dev environment may): that is not a problem.
 * `localVars` are what the local runtime adds to the top level's vars (`wrangler dev --var`).
 */
export function configProblems(catalog: Catalog, config: WranglerConfig, localVars: Record<string, unknown> = {}): string[] {
  const problems: string[] = [];
  const environments: [string, WranglerConfig][] = [
    ["top level", config],
    ...Object.entries(config.env ?? {}).map(([n, e]): [string, WranglerConfig] => [`[env.${n}]`, e]),
  ];
  const migrated = new Set((config.migrations ?? []).flatMap((m) => [...(m.new_sqlite_classes ?? []), ...(m.new_classes ?? [])]));
  const objects = durableObjectsFor(catalog);
  const sendsEmail = [...catalog.pipelines, ...catalog.flows].some((p) => p.notify.some((n) => n.email !== undefined));
  for (const cls of Object.values(objects)) {
    if (!migrated.has(cls)) problems.push(`migrations: no migration creates ${cls} (add it to new_sqlite_classes)`);
  }
  for (const [where, c] of environments) {
    // Bindings and vars are not inherited by environments; triggers are.
    const bindings = new Map((c.durable_objects?.bindings ?? []).map((b) => [b.name, b.class_name]));
    for (const [name, cls] of Object.entries(objects)) {
      const bound = bindings.get(name);
      if (bound === undefined) problems.push(`${where}: no Durable Object binding ${name} (class_name = "${cls}")`);
      else if (bound !== cls) problems.push(`${where}: ${name} binds class ${bound}, not ${cls}`);
    }
    if (!(c.r2_buckets ?? []).some((b) => b.binding === "BUCKET")) problems.push(`${where}: no R2 bucket bound as BUCKET`);
    if (sendsEmail && !(c.send_email ?? []).some((b) => b.name === "SLUICE_EMAIL"))
      problems.push(`${where}: no [[send_email]] binding SLUICE_EMAIL: email notifications would be recorded, not sent`);
    const tasks = (c.queues?.producers ?? []).find((p) => p.binding === "TASKS");
    if (!tasks) problems.push(`${where}: no queue producer bound as TASKS`);
    else {
      const consumer = (c.queues?.consumers ?? []).find((q) => q.queue === tasks.queue);
      if (!consumer) problems.push(`${where}: nothing consumes the TASKS queue ${tasks.queue} (add a [[queues.consumers]] for it)`);
      else if (!consumer.dead_letter_queue) problems.push(`${where}: the consumer of ${tasks.queue} has no dead_letter_queue`);
      else if (!consumer.dead_letter_queue.endsWith("-dlq"))
        problems.push(`${where}: the dead-letter queue ${consumer.dead_letter_queue} must end in -dlq (its consumer tells dead letters apart by it)`);
      else if (!(c.queues?.consumers ?? []).some((q) => q.queue === consumer.dead_letter_queue))
        problems.push(`${where}: nothing consumes the dead-letter queue ${consumer.dead_letter_queue}: failed tasks would never be reported`);
    }
    const declared = c.triggers?.crons ?? config.triggers?.crons;
    const fired = [...(declared ?? [])].sort();
    // Vars are not inherited either: an environment has only its own.
    const needed = cronsFor(catalog, c === config ? { ...config.vars, ...localVars } : (c.vars ?? {}));
    if (declared === undefined) problems.push(`${where}: no [triggers] crons, so no schedule would fire: crons = ${JSON.stringify(needed)}`);
    else if (fired.length > 0 && JSON.stringify(fired) !== JSON.stringify(needed)) {
      problems.push(`${where}: crons = ${JSON.stringify(fired)}, but the pipelines it runs need ${JSON.stringify(needed)} (or [] to pause them here)`);
    }
  }
  return problems;
}
