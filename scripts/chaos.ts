// The chaos suite: sluice on the local runtime (wrangler dev: workerd, local R2, Queues and
// Durable Objects on disk) against the sample upstream, under transient fault mixes and with the
// whole process killed (SIGKILL) and restarted on the same state directory in each phase and
// while a streamed plan is stored; a cancel followed by a new run, and by a redrive. Each run's
// output is read with DuckDB and compared with the upstream's own data. Then the fast subset in
// workerd (every message twice and out of order, every Durable Object evicted in every phase,
// two runs of one window at once, an interrupted end) runs too.
//   npm run chaos [-- --only faults-10,kill-refine] [--skip-workerd]
// Prints one line per scenario and writes out/chaos.json.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { RunView } from "../src/types.ts";
import type { Client } from "./lib/client.ts";
import { apiOf, FAULTY, finishAndVerify, inPhase, phaseDone, SEEDS, server, watch, type Ctx, type Outcome } from "./lib/chaos-kit.ts";
import { openDuck, type Duck } from "./lib/duckdb.ts";
import { duration } from "./lib/format.ts";
import { putLocalR2 } from "./lib/local-r2.ts";
import type { LocalServer } from "./lib/local-server.ts";
import { runMain } from "./lib/run.ts";
import { verifyPostsOutput } from "./lib/verify-posts.ts";
import type { WeatherWindow } from "./lib/verify-weather.ts";

const root = resolve(import.meta.dirname, "..");
const { values: args } = parseArgs({ options: { only: { type: "string" }, "skip-workerd": { type: "boolean", default: false } } });

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

/** The last merge is running: what follows is its report, the run's end and the final manifest write. */
const lastMerge = (run: RunView) =>
  run.status === "running" &&
  run.phase === "aggregate" &&
  run.phases.aggregate.running === 1 &&
  run.phases.aggregate.pending === 0 &&
  run.phases.aggregate.succeeded > 0;

/** On a fresh local server: submit the seeds' workload, cancel it half a second into refine, then `next`. */
async function cancelledInRefine(ctx: Ctx, next: (c: CancelledRun) => Promise<Outcome>): Promise<Outcome> {
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
    const note = `cancelled in ${seen.run.phase} (${phaseDone(seen.run, seen.run.phase)}), ended ${cancelled.run.status} with ${cancelled.run.phases.refine.cancelled} refine tasks cancelled`;
    return await next({ ctx, s, api, id, started, servedEarly: served + seen.servedEarly, note });
  } finally {
    await s.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

interface CancelledRun {
  ctx: Ctx;
  s: LocalServer;
  api: Client;
  id: string;
  started: number;
  /** Output answers with 200 while it ran, and after its cancel. */
  servedEarly: number;
  note: string;
}

const cancelThenRerun = {
  name: "cancel-rerun",
  proves: "a run cancelled mid-refine, then a new run of the same window: exact, the cancelled run serves nothing",
  run(ctx: Ctx): Promise<Outcome> {
    return cancelledInRefine(ctx, async ({ s, api, started, servedEarly, note }) => {
      const { id: again } = await api.submit("sample-weather", SEEDS);
      return finishAndVerify(ctx, s, again, SEEDS, started, { scenario: this.name, proves: this.proves, servedEarly, notes: [note] });
    });
  },
};

/**
 * A streamed plan long enough to be killed in: 1,000,000 listed ids, the same 2,042 live accounts
 * over and over (21 batches of 100 once the repeats are skipped), read from local R2.
 */
const PLAN_LINES = 1_000_000;
const PLAN_ACCOUNTS = Array.from({ length: 2063 }, (_, i) => String(i + 1)).filter((id) => Number(id) % 97 !== 0); // 97ths are deleted

const killPlanning = {
  name: "kill-planning",
  proves:
    "process killed while a streamed plan (1,000,000 listed ids, 2,000 distinct) is being stored: the run plans again from the start, begins, and ends exact",
  async run(ctx: Ctx): Promise<Outcome> {
    const stateDir = mkdtempSync(join(tmpdir(), "sluice-chaos-"));
    const list = join(stateDir, "accounts.txt");
    writeFileSync(list, Array.from({ length: PLAN_LINES }, (_, i) => PLAN_ACCOUNTS[i % PLAN_ACCOUNTS.length]).join("\n") + "\n");
    const key = "inputs/chaos-accounts.txt";
    putLocalR2(stateDir, key, list);
    let s = await server(stateDir);
    try {
      let api = apiOf(s);
      await api.sampleConfig({});
      const started = Date.now();
      const submitted = api.submit("sample-posts", { accountsKey: key, batchSize: 100 }).then(
        () => "answered",
        () => "cut",
      );
      // The registry lists the run (queued) before its coordinator has stored its plan (about a
      // second for the million lines): the kill comes as soon as it is listed.
      let id = "";
      while (!id) {
        const page = await api.json<{ runs: { id: string; pipeline: string }[] }>("/v1/jobs?limit=5");
        id = page.runs.find((r) => r.pipeline === "sample-posts")?.id ?? "";
        if (!id) await new Promise((r) => setTimeout(r, 5));
      }
      const before = await api.run(id);
      await s.kill();
      const answer = await submitted;
      s = await server(stateDir);
      api = apiOf(s);
      const first = await api.run(id);
      const verify = (a: Client, url: string, runId: string, duck: Duck, dir: string) => verifyPostsOutput(a, url, runId, PLAN_ACCOUNTS, duck, dir);
      const outcome = await finishAndVerify(ctx, s, id, verify, started, { scenario: this.name, proves: this.proves, servedEarly: 0, notes: [] });
      const run = await api.run(id);
      const planning = before.status === "queued";
      outcome.notes.push(
        `killed when the run was listed (${before.status}, ${before.batches} batches stored; the submit was ${answer}); at restart ${first.status} with ${first.batches}`,
        `ended ${run.status} with ${run.batches} batches, ${run.duplicateIds} repeated ids skipped, ${run.output?.rows ?? 0} rows`,
        ...(planning ? [] : ["the plan was complete before the kill: this trial proves nothing"]),
      );
      return { ...outcome, ok: outcome.ok && planning && run.batches === Math.ceil(PLAN_ACCOUNTS.length / 100) };
    } finally {
      await s.stop();
      rmSync(stateDir, { recursive: true, force: true });
    }
  },
};

const cancelThenRedrive = {
  name: "cancel-redrive",
  proves: "a run cancelled mid-refine, then redriven: the tasks the cancel cut short run as a new generation, exact, nothing served in between",
  run(ctx: Ctx): Promise<Outcome> {
    return cancelledInRefine(ctx, async ({ s, api, id, started, servedEarly, note }) => {
      const redrive = await api.json<{ tasks?: number }>(`/v1/jobs/${id}/redrive`, { method: "POST" });
      const notes = [`${note}; redrive re-ran ${redrive.tasks ?? "?"}`];
      const outcome = await finishAndVerify(ctx, s, id, SEEDS, started, { scenario: this.name, proves: this.proves, servedEarly, notes });
      const run = await api.run(id);
      outcome.notes.push(`generation ${run.generation}, lost batches ${run.lostBatches}`);
      return { ...outcome, ok: outcome.ok && run.generation === 2 };
    });
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
  killPlanning,
  cancelThenRedrive,
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
    console.log("fast subset in workerd: vitest run --project integration test/integration/chaos-fast.test.ts");
    workerd =
      spawnSync(join(root, "node_modules/.bin/vitest"), ["run", "--project", "workerd", "test/chaos-fast.test.ts"], { cwd: root, stdio: "inherit" }).status ??
      1;
  }
  const failed = outcomes.filter((o) => !o.ok).length;
  console.log(`${outcomes.length - failed} of ${outcomes.length} scenarios passed${workerd === 0 ? "" : "; the workerd subset FAILED"}`);
  return failed === 0 && workerd === 0 ? 0 : 1;
}

runMain(main);
