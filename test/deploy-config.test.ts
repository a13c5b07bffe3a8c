// A plain `wrangler deploy` is safe (issue 15, item 2): the top level of wrangler.toml is a local
// Worker with its own name, bucket and queues, nothing public and no sample upstream; production
// never serves the sample upstream or public reads. And its Cron Triggers are the crons the
// pipelines each environment runs schedule (issue 16, item 3, in part): no sample schedule in
// production. Read from the config itself.
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import toml from "../wrangler.toml?raw";
import { runnablePipelines } from "../src/pipelines";
import { QUALITY_SWEEP_CRON } from "../src/scheduled";

interface WorkerConfig {
  name: string;
  triggers?: { crons?: string[] };
  vars?: Record<string, string>;
  r2_buckets?: { bucket_name: string }[];
  queues?: { producers?: { queue: string }[]; consumers?: { queue: string; dead_letter_queue?: string }[] };
}
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

  it("fires exactly the crons its pipelines schedule, in every environment that runs schedules", () => {
    // Schedules and compactions name their crons; Cloudflare fires only the Cron Triggers listed.
    // A cron in one place and not the other is a schedule that never runs, or a trigger that does
    // nothing. The sample pipelines run only where the sample upstream is on; the top level is the
    // local Worker, where dev and the tests turn it on.
    const cronsOf = (samples: string) => {
      const pipelines = runnablePipelines({ SAMPLE_UPSTREAM: samples });
      return [...new Set([...pipelines.flatMap((p) => [...p.schedules.map((s) => s.cron), ...p.compactions.map((c) => c.cron)]), QUALITY_SWEEP_CRON])].sort();
    };
    const crons = (c: WorkerConfig) => [...(c.triggers?.crons ?? config.triggers?.crons ?? [])].sort(); // triggers are inherited
    expect(crons(config)).toEqual(cronsOf("enabled"));
    for (const [name, env] of Object.entries(config.env)) {
      const fired = crons(env);
      const expected = cronsOf(env.vars?.SAMPLE_UPSTREAM ?? "disabled");
      if (fired.length > 0 || name !== "dev") expect({ env: name, crons: fired }).toEqual({ env: name, crons: expected }); // dev turns them off
    }
    expect(crons(config.env.production!)).toEqual([QUALITY_SWEEP_CRON]); // no sample schedule fires in production
  });
});
