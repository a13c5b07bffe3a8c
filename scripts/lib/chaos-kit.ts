// The chaos suite's kit: its workloads, a local server on a state directory, watching a run while
// probing its output, and the end of a scenario (the output checked against the upstream's own).
import type { Phase, RunView } from "../../src/types.ts";
import { client, TERMINAL, type Client } from "./client.ts";
import type { Duck } from "./duckdb.ts";
import { startLocalServer, type LocalServer } from "./local-server.ts";
import { verifyWeatherOutput, type Exactness, type WeatherWindow } from "./verify-weather.ts";

/** The seeds' workload: 8 stations, 156 monthly chunks (one request per month, all stations). */
export const SEEDS: WeatherWindow & { chunk: "month" } = {
  stations: ["10000", "10037", "10074", "10111", "10148", "10185", "10222", "10259"],
  from: "2012-01-01",
  to: "2025-01-01",
  chunk: "month",
};
/** The fault mixes' workload: 8 stations over two years, two stations per request: 96 requests. */
export const FAULTY: WeatherWindow & { chunk: "month"; stationsPerBatch: number } = { ...SEEDS, from: "2023-01-01", to: "2025-01-01", stationsPerBatch: 2 };

/** Tasks not reported for this long are sent again: a restarted local runtime has lost its queue. */
export const STALE_MS = 10_000;
export const TOKEN = "chaos-token";

export interface Outcome {
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

export interface Ctx {
  dir: string;
  duck: Duck;
}

export const server = (stateDir: string) => startLocalServer({ stateDir, token: TOKEN, vars: { SLUICE_STALE_TASK_MS: String(STALE_MS) } });
export const apiOf = (s: LocalServer) => client({ baseUrl: s.url, token: TOKEN });

/** Watch a run until it ends, probing its output on the way: nothing may be served before the end. */
export async function watch(
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

/** The output compared with the upstream's own rows: a sample-weather window, or a check of its own. */
export type Verify = WeatherWindow | ((api: Client, baseUrl: string, runId: string, duck: Duck, dir: string) => Promise<Exactness>);

/** Watch the run to its end, then check its output, its manifest and the upstream's refusals. */
export async function finishAndVerify(
  ctx: Ctx,
  s: LocalServer,
  id: string,
  verify: Verify,
  started: number,
  outcome: Omit<Outcome, "status" | "seconds" | "exact" | "violations" | "manifest" | "ok">,
): Promise<Outcome> {
  const api = apiOf(s);
  const { run, servedEarly } = await watch(api, id);
  const seconds = (Date.now() - started) / 1000;
  const stats = await api.sampleStats();
  await api.sampleConfig({});
  const check =
    typeof verify === "function"
      ? verify
      : (a: Client, url: string, runId: string, duck: Duck, dir: string) => verifyWeatherOutput(a, url, runId, verify, duck, dir);
  const exact = run.status === "succeeded" ? await check(api, s.url, id, ctx.duck, ctx.dir) : null;
  const manifest = await api.json<{ status?: string }>(`/v1/jobs/${id}/manifest`).then(
    (m) => m.status === run.status,
    () => false,
  );
  const early = outcome.servedEarly + servedEarly;
  const ok = run.status === "succeeded" && exact?.exact === true && stats.violations === 0 && early === 0 && manifest;
  return { ...outcome, status: run.status, seconds, exact, violations: stats.violations, servedEarly: early, manifest, ok };
}

export const phaseDone = (run: RunView, phase: Phase | null) => {
  if (!phase) return "";
  const p = run.phases[phase];
  return `${p.succeeded} done, ${p.running} running of ${p.total}`;
};

export const inPhase = (phase: Phase) => (run: RunView) => run.status === "running" && run.phase === phase && run.phases[phase].running > 0;
