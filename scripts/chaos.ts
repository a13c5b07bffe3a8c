// The chaos suite: sluice on the local runtime (wrangler dev: workerd, local R2, Queues and
// Durable Objects on disk) against the sample upstream, under transient fault mixes and with the
// whole process killed (SIGKILL) and restarted on the same state directory in each phase. Each
// run's output is read with DuckDB and compared with the upstream's own data. Then the fast
// subset in workerd (every message twice and out of order, every Durable Object evicted in every
// phase, two runs of one window at once, an interrupted end) runs too.
//   npm run chaos [-- --only faults-10,kill-refine] [--skip-workerd]
// Prints one line per scenario and writes out/chaos.json.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Phase, RunView } from "../src/types.ts";
import { client, TERMINAL, type Client } from "./lib/client.ts";
import { openDuck, type Duck } from "./lib/duckdb.ts";
import { duration } from "./lib/format.ts";
import { startLocalServer, type LocalServer } from "./lib/local-server.ts";
import { runMain } from "./lib/run.ts";
import { verifyWeatherOutput, type Exactness, type WeatherWindow } from "./lib/verify-weather.ts";

const root = resolve(import.meta.dirname, "..");
const { values: args } = parseArgs({ options: { only: { type: "string" }, "skip-workerd": { type: "boolean", default: false } } });

/** The seeds' workload: 8 stations, 156 monthly chunks (one request per month, all stations). */
const SEEDS: WeatherWindow & { chunk: "month" } = {
  stations: ["10000", "10037", "10074", "10111", "10148", "10185", "10222", "10259"],
  from: "2012-01-01",
  to: "2025-01-01",
  chunk: "month",
};
/** The fault mixes' workload: 8 stations over two years, two stations per request: 96 requests. */
const FAULTY: WeatherWindow & { chunk: "month"; stationsPerBatch: number } = { ...SEEDS, from: "2023-01-01", to: "2025-01-01", stationsPerBatch: 2 };

/** Tasks not reported for this long are sent again: a restarted local runtime has lost its queue. */
const STALE_MS = 10_000;
const TOKEN = "chaos-token";

interface Outcome {
  scenario: string;
  proves: string;
  status: string;
  seconds: number;
  exact: Exactness | null;
  /** 429s the upstream counted beyond its real limit (injected ones are faults, not violations). */
  violations: number;
  /** Output answers with 200 before the run ended: must be 0. */
  servedEarly: number;
  manifest: boolean;
  notes: string[];
  ok: boolean;
}

interface Ctx {
  dir: string;
  duck: Duck;
}

const server = (stateDir: string) => startLocalServer({ stateDir, token: TOKEN, vars: { SLUICE_STALE_TASK_MS: String(STALE_MS) } });
const apiOf = (s: LocalServer) => client({ baseUrl: s.url, token: TOKEN });

/** Watch a run until it ends, probing its output on the way: nothing may be served before the end. */
async function watch(
  api: Client,
  id: string,
  until?: (run: RunView) => boolean,
  intervalMs = 250,
): Promise<{ run: RunView; servedEarly: number; stopped: boolean }> {
  let servedEarly = 0;
  let probed = 0;
  for (;;) {
    const run = await api.run(id);
    if (process.env.CHAOS_DEBUG) console.log(Date.now(), run.status, run.phase, JSON.stringify(run.phases[run.phase ?? "ingest"]));
    if (until?.(run)) return { run, servedEarly, stopped: true };
    if (TERMINAL.has(run.status)) return { run, servedEarly, stopped: false };
    if (Date.now() - probed > 1000) {
      probed = Date.now();
      const out = await api.call(`/v1/jobs/${id}/output`).then(
        () => 200,
        (err: { status?: number }) => err.status ?? 0,
      );
      const now = await api.run(id);
      if (out === 200 && !TERMINAL.has(now.status)) servedEarly++;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

async function finishAndVerify(
  ctx: Ctx,
  s: LocalServer,
  id: string,
  w: WeatherWindow,
  started: number,
  outcome: Omit<Outcome, "status" | "seconds" | "exact" | "violations" | "manifest" | "ok">,
): Promise<Outcome> {
  const api = apiOf(s);
  const { run, servedEarly } = await watch(api, id);
  const seconds = (Date.now() - started) / 1000;
  const stats = await api.sampleStats();
  await api.sampleConfig({});
  const exact = run.status === "succeeded" ? await verifyWeatherOutput(api, s.url, id, w, ctx.duck, ctx.dir) : null;
  const manifest = await api.json<{ status?: string }>(`/v1/jobs/${id}/manifest`).then(
    (m) => m.status === run.status,
    () => false,
  );
  const early = outcome.servedEarly + servedEarly;
  const ok = run.status === "succeeded" && exact?.exact === true && stats.violations === 0 && early === 0 && manifest;
  return { ...outcome, status: run.status, seconds, exact, violations: stats.violations, servedEarly: early, manifest, ok };
}

/** Transient faults at `rate`: 5xx, hangs past the 30 s client timeout, half bodies, 429 bursts. */
function faultMix(rate: number) {
  return {
    name: `faults-${Math.round(rate * 100)}`,
    proves: `${Math.round(rate * 100)}% of requests fail (503, hang past the client timeout, truncated body, 429 bursts with and without Retry-After): retried until exact, no violation`,
    async run(ctx: Ctx): Promise<Outcome> {
      const stateDir = mkdtempSync(join(tmpdir(), "sluice-chaos-"));
      const s = await server(stateDir);
      try {
        const api = apiOf(s);
        await api.sampleConfig({
          perSecond: 50,
          faultRate: rate,
          faultKinds: ["5xx", "timeout", "truncate", "429", "429-bare"],
          hangMs: 35_000,
          burst429: 5,
          seed: 11,
        });
        const started = Date.now();
        const { id } = await api.submit("sample-weather", FAULTY, { maxAttempts: 12, retryPasses: 3 });
        const { run } = await watch(api, id);
        const faults = await api.sampleStats();
        const outcome = await finishAndVerify(ctx, s, id, FAULTY, started, {
          scenario: this.name,
          proves: this.proves,
          servedEarly: 0,
          notes: [
            `upstream: ${faults.requests} requests, by status ${JSON.stringify(faults.byStatus)}, injected ${JSON.stringify(faults.faults)}`,
            `ingest: ${ingestSummary(run)}`,
          ],
        });
        return outcome;
      } finally {
        await s.stop();
        rmSync(stateDir, { recursive: true, force: true });
      }
    },
  };
}

const ingestSummary = (run: RunView) => `${run.phases.ingest.succeeded} of ${run.batches} batches succeeded, ${run.phases.ingest.total} ingest tasks`;

/**
 * Kill the whole local runtime `delayMs` after `when` first holds, restart it on the same state,
 * and let the run finish by itself. One trial per delay.
 */
function killDuring(name: string, proves: string, w: typeof SEEDS | typeof FAULTY, when: (run: RunView) => boolean, fixedDelays: number[] | "calibrate") {
  return {
    name,
    proves,
    async run(ctx: Ctx): Promise<Outcome> {
      const notes: string[] = [];
      let last: Outcome | null = null;
      let passed = 0;
      let killed = 0;
      const delays = fixedDelays === "calibrate" ? await calibrate(w, when, notes) : fixedDelays;
      for (const [trial, delayMs] of delays.entries()) {
        const stateDir = mkdtempSync(join(tmpdir(), "sluice-chaos-"));
        let s = await server(stateDir);
        try {
          let api = apiOf(s);
          await api.sampleConfig({ perSecond: 50 });
          const started = Date.now();
          const { id } = await api.submit("sample-weather", w);
          const seen = await watch(api, id, when, 5);
          if (!seen.stopped) {
            notes.push(`trial ${trial + 1}: the run ended (${seen.run.status}) before the kill point`);
            continue;
          }
          if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
          await s.kill();
          killed++;
          const at = seen.run;
          const restartAt = Date.now();
          s = await server(stateDir);
          api = apiOf(s);
          const first = await api.run(id);
          const manifestAtRestart = await api.json<{ status?: string }>(`/v1/jobs/${id}/manifest`).then(
            (m) => `says ${m.status}`,
            () => "absent",
          );
          const outcome = await finishAndVerify(ctx, s, id, w, started, { scenario: name, proves, servedEarly: seen.servedEarly, notes: [] });
          if (outcome.ok) passed++;
          notes.push(
            `trial ${trial + 1}: killed ${delayMs} ms after ${at.phase} showed ${phaseDone(at, at.phase)}; at restart ${first.status}/${first.phase}, ` +
              `manifest ${manifestAtRestart}; ended ${outcome.status} ${duration(Date.now() - restartAt)} after the restart, ${outcome.ok ? "exact" : "NOT EXACT"}`,
          );
          last = outcome;
        } finally {
          await s.stop();
          rmSync(stateDir, { recursive: true, force: true });
        }
      }
      if (!last)
        return { scenario: name, proves, status: "not reached", seconds: 0, exact: null, violations: 0, servedEarly: 0, manifest: false, notes, ok: false };
      // A trial whose run ended before the kill point was seen proves nothing either way.
      notes.push(`${killed} of ${delays.length} trials killed the process; ${passed} of those ended exact`);
      return { ...last, notes, ok: killed > 0 && passed === killed };
    },
  };
}

/**
 * One run without a kill: how long from `when` until the run is seen ended. Kills at fractions of
 * that land just before, in and just after the run's end and manifest writes.
 */
async function calibrate(w: WeatherWindow, when: (run: RunView) => boolean, notes: string[]): Promise<number[]> {
  const stateDir = mkdtempSync(join(tmpdir(), "sluice-chaos-"));
  const s = await server(stateDir);
  try {
    const api = apiOf(s);
    await api.sampleConfig({ perSecond: 50 });
    const { id } = await api.submit("sample-weather", w);
    await watch(api, id, when, 5);
    const from = Date.now();
    await watch(api, id, undefined, 2);
    const d = Date.now() - from;
    notes.push(`calibration: the run was seen ended ${d} ms after the last merge was seen running`);
    return [0.5, 0.75, 0.85, 0.9, 0.95, 1, 1.1].map((f) => Math.round(f * d));
  } finally {
    await s.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

const phaseDone = (run: RunView, phase: Phase | null) => {
  if (!phase) return "";
  const p = run.phases[phase];
  return `${p.succeeded} done, ${p.running} running of ${p.total}`;
};

const inPhase = (phase: Phase) => (run: RunView) => run.status === "running" && run.phase === phase && run.phases[phase].running > 0;

/** The last merge is running: what follows is its report, the run's end and the final manifest write. */
const lastMerge = (run: RunView) =>
  run.status === "running" &&
  run.phase === "aggregate" &&
  run.phases.aggregate.running === 1 &&
  run.phases.aggregate.pending === 0 &&
  run.phases.aggregate.succeeded > 0;

const cancelThenRerun = {
  name: "cancel-rerun",
  proves: "a run cancelled mid-refine, then a new run of the same window: exact, the cancelled run serves nothing",
  async run(ctx: Ctx): Promise<Outcome> {
    const stateDir = mkdtempSync(join(tmpdir(), "sluice-chaos-"));
    const s = await server(stateDir);
    try {
      const api = apiOf(s);
      await api.sampleConfig({ perSecond: 50 });
      const started = Date.now();
      const { id } = await api.submit("sample-weather", SEEDS);
      const seen = await watch(api, id, inPhase("refine"), 10);
      await new Promise((r) => setTimeout(r, 500));
      await api.cancel(id);
      const cancelled = await watch(api, id);
      const served = await api.call(`/v1/jobs/${id}/output`).then(
        () => 1,
        () => 0,
      );
      const { id: again } = await api.submit("sample-weather", SEEDS);
      const notes = [`cancelled in ${seen.run.phase} (${phaseDone(seen.run, seen.run.phase)}), ended ${cancelled.run.status}`];
      return await finishAndVerify(ctx, s, again, SEEDS, started, { scenario: this.name, proves: this.proves, servedEarly: served + seen.servedEarly, notes });
    } finally {
      await s.stop();
      rmSync(stateDir, { recursive: true, force: true });
    }
  },
};

const SCENARIOS = [
  faultMix(0.1),
  faultMix(0.3),
  faultMix(0.5),
  killDuring("kill-ingest", "process killed during ingest, restarted on the same state", SEEDS, inPhase("ingest"), [3000]),
  killDuring("kill-refine", "process killed during refine", SEEDS, inPhase("refine"), [0]),
  killDuring("kill-silver", "process killed during silver", SEEDS, inPhase("silver"), [0]),
  killDuring("kill-aggregate", "process killed during aggregation (first merge level)", SEEDS, inPhase("aggregate"), [0]),
  killDuring("kill-final-write", "process killed around the last merge's report, the run's end and its manifest writes", FAULTY, lastMerge, "calibrate"),
  cancelThenRerun,
];

async function main(): Promise<number> {
  const only = args.only?.split(",");
  const dir = join(root, "out/chaos");
  mkdirSync(dir, { recursive: true });
  const duck = await openDuck();
  const outcomes: Outcome[] = [];
  try {
    for (const scenario of SCENARIOS) {
      if (only && !only.includes(scenario.name)) continue;
      const outcome = await scenario.run({ dir, duck }).catch((err: unknown): Outcome => ({
        scenario: scenario.name,
        proves: scenario.proves,
        status: "error",
        seconds: 0,
        exact: null,
        violations: 0,
        servedEarly: 0,
        manifest: false,
        notes: [`the scenario failed: ${err instanceof Error ? err.message : String(err)}`],
        ok: false,
      }));
      outcomes.push(outcome);
      const e = outcome.exact;
      console.log(
        `${outcome.ok ? "PASS" : "FAIL"} ${outcome.scenario.padEnd(17)} ${outcome.status} in ${outcome.seconds.toFixed(1)} s; ` +
          (e
            ? `rows ${e.rows}/${e.expected}, duplicates ${e.duplicateKeys}, missing ${e.missing}, extra ${e.extra}, differing ${e.differing}, sha256 ${e.hashMatches ? "ok" : "BAD"}; `
            : "no output checked; ") +
          `violations ${outcome.violations}, served early ${outcome.servedEarly}, manifest ${outcome.manifest ? "ok" : "MISSING"}`,
      );
      for (const note of outcome.notes) console.log(`     ${note}`);
    }
  } finally {
    duck.close();
  }
  // Scenarios not run this time keep their last outcome.
  const file = join(root, "out/chaos.json");
  const previous = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { outcomes: (Outcome & { at?: string })[] }).outcomes : [];
  const at = new Date().toISOString();
  const merged = SCENARIOS.map((s) => outcomes.find((o) => o.scenario === s.name) ?? previous.find((o) => o.scenario === s.name))
    .filter((o) => o !== undefined)
    .map((o) => (outcomes.includes(o) ? { ...o, at } : o));
  writeFileSync(file, JSON.stringify({ outcomes: merged }, null, 2));
  let workerd = 0;
  if (!args["skip-workerd"] && !only) {
    console.log("fast subset in workerd: vitest run --project workerd test/chaos-fast.test.ts");
    workerd =
      spawnSync(join(root, "node_modules/.bin/vitest"), ["run", "--project", "workerd", "test/chaos-fast.test.ts"], { cwd: root, stdio: "inherit" }).status ??
      1;
  }
  const failed = outcomes.filter((o) => !o.ok).length;
  console.log(`${outcomes.length - failed} of ${outcomes.length} scenarios passed${workerd === 0 ? "" : "; the workerd subset FAILED"}`);
  return failed === 0 && workerd === 0 ? 0 : 1;
}

runMain(main);
