// A plain `wrangler deploy` is safe (issue 15, item 2): the top level of wrangler.toml is a local
// Worker with its own name, bucket and queues, nothing public and no sample upstream; production
// never serves the sample upstream or public reads. And its Cron Triggers are the crons the
// pipelines each environment runs schedule (issue 16, item 3): no sample schedule in production,
// every binding the catalog needs. Read from the config itself.
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import toml from "../../wrangler.toml?raw";
import { sluice } from "../../src/index";
import { QUALITY_SWEEP_CRON } from "../../src/scheduled";
import { configProblems, cronsFor, type WranglerConfig } from "../../src/wrangler-config";

interface WorkerConfig extends WranglerConfig {
  name: string;
  vars?: Record<string, string>;
  r2_buckets?: { binding: string; bucket_name: string }[];
}
/** The top level is the local Worker: wrangler dev and the tests turn the sample upstream on. */
const LOCAL = { SAMPLE_UPSTREAM: "enabled" };
const config = parse(toml) as unknown as WorkerConfig & { env: Record<string, WorkerConfig> };
const resources = (c: WorkerConfig) => [
  ...(c.r2_buckets ?? []).map((b) => `bucket:${b.bucket_name}`),
  ...(c.queues?.producers ?? []).map((q) => `queue:${q.queue}`),
  ...(c.queues?.consumers ?? []).flatMap((q) => [`queue:${q.queue}`, ...(q.dead_letter_queue ? [`queue:${q.dead_letter_queue}`] : [])]),
];

describe("wrangler.toml", () => {
  it("deploys the top level as a local Worker: not production's name or resources, nothing public, no sample upstream", () => {
    const production = config.env.production!;
    expect(config.name).not.toBe(production.name);
    expect(config.vars?.PUBLIC_READS).not.toBe("true");
    expect(config.vars?.SAMPLE_UPSTREAM).not.toBe("enabled");
    for (const env of ["production", "staging"]) {
      for (const r of resources(config)) expect(resources(config.env[env]!)).not.toContain(r);
    }
  });

  it("keeps the sample upstream and public reads out of production", () => {
    expect(config.env.production!.vars).toMatchObject({ SAMPLE_UPSTREAM: "disabled", PUBLIC_READS: "false" });
  });

  it("gives every environment its own Worker, bucket and queues", () => {
    const all = [config, ...Object.values(config.env)];
    expect(new Set(all.map((c) => c.name)).size).toBe(all.length);
    const owned = all.flatMap((c) => [...new Set(resources(c))]);
    expect(new Set(owned).size).toBe(owned.length);
  });

  it("binds, migrates, queues and fires exactly what its catalog needs, in every environment (configProblems)", () => {
    // Schedules and compactions name their crons; Cloudflare fires only the Cron Triggers listed.
    // A cron in one place and not the other is a schedule that never runs, or a trigger that does
    // nothing. The sample pipelines run only where the sample upstream is on; dev pauses them all.
    expect(configProblems(sluice.catalog, config, LOCAL)).toEqual([]);
    expect(config.env.dev!.triggers?.crons).toEqual([]);
    expect(config.env.production!.triggers?.crons).toEqual([QUALITY_SWEEP_CRON]); // no sample schedule fires in production
  });

  it("names what a config lacks: a cron, a binding, a dead-letter consumer, a migration", () => {
    const broken = structuredClone(config);
    broken.env.staging!.triggers = { crons: ["0 6 * * *"] };
    broken.env.production!.durable_objects!.bindings = broken.env.production!.durable_objects!.bindings!.filter((b) => b.name !== "RATE_LIMITER");
    broken.queues!.consumers = broken.queues!.consumers!.filter((q) => !q.queue.endsWith("-dlq"));
    broken.migrations = [{ new_sqlite_classes: ["RunCoordinator", "PipelineRegistry", "FlowCoordinator"] }];
    expect(configProblems(sluice.catalog, broken, LOCAL)).toEqual([
      "migrations: no migration creates RateLimiter (add it to new_sqlite_classes)",
      "top level: nothing consumes the dead-letter queue sluice-local-tasks-dlq: failed tasks would never be reported",
      `[env.staging]: crons = ["0 6 * * *"], but the pipelines it runs need ${JSON.stringify(cronsFor(sluice.catalog, config.env.staging!.vars))} (or [] to pause them here)`,
      '[env.production]: no Durable Object binding RATE_LIMITER (class_name = "RateLimiter")',
    ]);
  });
});
