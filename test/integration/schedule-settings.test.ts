// Per-environment behaviour (issue 17, item 6), written as seed 004 has it: daily at 06:00 in
// production, 07:00 in staging, paused in dev; a weekly full refresh paused until someone resumes
// it, whose runs download everything again (SLUICE_SCHEDULES; wrangler.toml's crons are checked
// against what each environment fires); webhook targets (SLUICE_NOTIFY) and check thresholds
// (SLUICE_QUALITY) per environment.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Catalog } from "../../src/catalog";
import { definePipeline } from "../../src/pipelines/define";
import { check } from "../../src/quality/checks";
import { runScheduled } from "../../src/scheduled";
import { SAMPLE_ORIGIN } from "../../src/upstream/fetch";
import { configProblems, cronsFor, type WranglerConfig } from "../../src/wrangler-config";
import { api, configureSample, env, registerPipeline, waitForRun } from "../helpers";
import { POSTS } from "../limits-pipelines";

const orders = definePipeline({
  name: "seed4-orders",
  description: "seed 004's daily job and its weekly full refresh",
  params: z.object({ day: z.string() }).strict(),
  source: { name: "seed4-api", baseUrl: `${SAMPLE_ORIGIN}/sample/social`, rateLimit: [{ requests: 1000, per: "1s" }], concurrency: 4, timeoutMs: 10_000 },
  *plan(params) {
    yield { partition: `posts/day=${params.day}`, data: { accounts: ["701", "702"] } };
  },
  items: (batch, source) => (batch.data.accounts as string[]).map((id) => ({ item: id, request: { url: `${source.baseUrl}/accounts/${id}/posts?limit=100` } })),
  ...POSTS,
  window: (p) => ({ name: p.day, hive: `day=${p.day}` }),
  schedules: [
    { name: "daily", cron: "0 6 * * *", window: "previous-day", params: (w) => ({ day: w.from }) },
    { name: "weekly-refresh", cron: "0 3 * * 1", window: "previous-day", params: (w) => ({ day: w.from }), paused: true, fullRefresh: true },
  ],
});
const catalog = new Catalog([orders]);
const SETTINGS = { dev: { "seed4-orders/daily": "paused" }, staging: { "seed4-orders/daily": { cron: "0 7 * * *" } } };
const QUALITY_SWEEP = "0 12 * * *";

/** An environment's vars: the sample upstream on (these pipelines read it), and its schedule settings. */
const vars = (settings?: object) => ({ SAMPLE_UPSTREAM: "enabled", ...(settings ? { SLUICE_SCHEDULES: JSON.stringify(settings) } : {}) });

describe("schedules per environment", () => {
  it("takes each environment's cron and pauses from SLUICE_SCHEDULES, the definition's elsewhere", () => {
    const schedules = (settings?: object) =>
      catalog
        .runnable(vars(settings))
        .find((p) => p.name === "seed4-orders")!
        .schedules.map((s) => `${s.name} ${s.cron} ${s.paused ? "paused" : "on"}`);
    expect(schedules()).toEqual(["daily 0 6 * * * on", "weekly-refresh 0 3 * * 1 paused"]);
    expect(schedules(SETTINGS.dev)).toEqual(["daily 0 6 * * * paused", "weekly-refresh 0 3 * * 1 paused"]);
    expect(schedules(SETTINGS.staging)).toEqual(["daily 0 7 * * * on", "weekly-refresh 0 3 * * 1 paused"]);
    expect(cronsFor(catalog, vars(SETTINGS.staging))).toEqual(["0 12 * * *", "0 3 * * 1", "0 7 * * *"]);
  });

  it("refuses a bad SLUICE_SCHEDULES with what is wrong", () => {
    expect(() => catalog.runnable({ ...vars(), SLUICE_SCHEDULES: "{" })).toThrow("SLUICE_SCHEDULES is not JSON");
    expect(() => catalog.runnable(vars({ "seed4-orders/daily": { cron: "at six" } }))).toThrow(/seed4-orders\/daily.cron: a five-field cron/);
  });

  it("checks each environment's Cron Triggers against the crons its settings fire", () => {
    const config: WranglerConfig = {
      vars: vars(),
      env: {
        staging: { vars: vars(SETTINGS.staging), triggers: { crons: ["0 6 * * *", "0 3 * * 1", QUALITY_SWEEP] } },
        production: { vars: vars(), triggers: { crons: ["0 6 * * *", "0 3 * * 1", QUALITY_SWEEP] } },
      },
    };
    const crons = configProblems(catalog, config).filter((p) => p.includes("crons"));
    expect(crons).toEqual([
      'top level: no [triggers] crons, so no schedule would fire: crons = ["0 12 * * *","0 3 * * 1","0 6 * * *"]',
      '[env.staging]: crons = ["0 12 * * *","0 3 * * 1","0 6 * * *"], but the pipelines it runs need ["0 12 * * *","0 3 * * 1","0 7 * * *"] (or [] to pause them here)',
    ]);
  });

  it("fires a schedule at its environment's cron, not the declared one", async () => {
    registerPipeline(orders);
    await configureSample({});
    const staging = { ...env, SLUICE_SCHEDULES: JSON.stringify(SETTINGS.staging) };
    expect((await runScheduled(catalog, "0 6 * * *", Date.parse("2026-05-05T06:00:00Z"), staging)).filter((r) => r.pipeline === "seed4-orders")).toEqual([]);
    const fired = await runScheduled(catalog, "0 7 * * *", Date.parse("2026-05-05T07:00:00Z"), staging);
    expect(fired).toEqual([{ pipeline: "seed4-orders", schedule: "daily", outcome: "started", runs: ["seed4-orders-daily-2026-05-04"] }]);
    expect((await waitForRun("seed4-orders-daily-2026-05-04")).status).toBe("succeeded");
  });

  it("keeps a schedule paused by default until it is resumed; its runs then download everything again", async () => {
    registerPipeline(orders);
    await configureSample({});
    const monday = Date.parse("2026-05-11T03:00:00Z");
    expect(await runScheduled(catalog, "0 3 * * 1", monday, env)).toEqual([
      { pipeline: "seed4-orders", schedule: "weekly-refresh", outcome: "skipped_paused", runs: [] },
    ]);
    expect((await api("/v1/pipelines/seed4-orders/schedules/nightly/resume", { method: "POST" })).status).toBe(404);
    const resumed = await (
      await api("/v1/pipelines/seed4-orders/schedules/weekly-refresh/resume", { method: "POST" })
    ).json<{ schedules: { name: string; paused: boolean }[] }>();
    expect(resumed.schedules.map((s) => `${s.name} ${s.paused}`)).toEqual(["daily false", "weekly-refresh false"]);
    const [report] = await runScheduled(catalog, "0 3 * * 1", monday, env);
    expect(report).toEqual({ pipeline: "seed4-orders", schedule: "weekly-refresh", outcome: "started", runs: ["seed4-orders-weekly-refresh-2026-05-10"] });
    const run = await waitForRun("seed4-orders-weekly-refresh-2026-05-10");
    expect(run.status).toBe("succeeded");
    expect(run.options).toMatchObject({ force: true });
  });
});

describe("webhooks and quality thresholds per environment", () => {
  const declared = definePipeline({
    name: "seed4-quality",
    description: "checks and a webhook that environments change",
    params: z.object({ day: z.string() }).strict(),
    source: orders.source,
    *plan() {},
    items: () => [],
    ...POSTS,
    quality: [check.schema(), check.minRows(100, "run"), check.maxNullPercent("text", 1)],
    notify: { url: "https://hooks.example.com/prod", on: ["failed"] },
  });
  const two = new Catalog([declared]);
  const deployed = (settings: Record<string, unknown>) =>
    two.deployed(Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, JSON.stringify(v)])), declared);

  it("calls the environment's targets instead of the declared ones, or none", () => {
    expect(deployed({}).notify).toEqual([{ url: "https://hooks.example.com/prod", on: ["failed"] }]);
    const staging = deployed({
      SLUICE_NOTIFY: { "seed4-quality": [{ url: "https://hooks.example.com/staging", on: ["failed", "quality_warning"], signingSecret: "HOOK_KEY" }] },
    });
    expect(staging.notify).toEqual([{ url: "https://hooks.example.com/staging", on: ["failed", "quality_warning"], signingSecret: "HOOK_KEY" }]);
    expect(deployed({ SLUICE_NOTIFY: { "seed4-quality": [] } }).notify).toEqual([]);
    expect(() => deployed({ SLUICE_NOTIFY: { "seed4-quality": [{ url: "not a url" }] } })).toThrow(/SLUICE_NOTIFY is not valid: seed4-quality.0.url/);
  });

  it("measures the checks with the environment's thresholds and severities", () => {
    const checks = (settings: Record<string, unknown>) =>
      deployed(settings)
        .quality({ day: "2026-05-01" })
        .map((c) => JSON.stringify(c));
    expect(checks({})).toEqual(declared.quality({ day: "2026-05-01" }).map((c) => JSON.stringify(c)));
    const staging = checks({ SLUICE_QUALITY: { "seed4-quality": { "minRows(run)": { min: 1, severity: "warn" }, "maxNullPercent(text)": { max: 5 } } } });
    expect(staging).toEqual([
      JSON.stringify({ kind: "schema", severity: "fatal" }),
      JSON.stringify({ kind: "minRows", per: "run", min: 1, severity: "warn" }),
      JSON.stringify({ kind: "maxNullPercent", column: "text", max: 5, severity: "fatal" }),
    ]);
    expect(() => deployed({ SLUICE_QUALITY: { "seed4-quality": { "minRows(run)": { minimum: 1 } } } })).toThrow(/SLUICE_QUALITY is not valid/);
  });
});
