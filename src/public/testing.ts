// "sluice/testing": run a deployment's pipeline end to end in @cloudflare/vitest-plugin, against
// recorded answers instead of the real upstream, and check its wrangler config.
//   const upstream = useRecordedUpstream({ "GET https://api.example.com/orders?page=1": { body: {...} } });
//   const run = await runToEnd(exports.default, "orders", { day: "2026-11-01" }, { token });
import { parse } from "smol-toml";
import type { Catalog } from "../catalog";
import { TERMINAL_RUN_STATUSES, type RunView } from "../types";
import { setStandInUpstream } from "../upstream/fetch";
import { configProblems, type WranglerConfig } from "../wrangler-config";

/** One recorded answer: a JSON body (any value but a string) or a text one. */
export interface Recorded {
  status?: number;
  headers?: Record<string, string>;
  body: unknown;
}

/**
 * Answer every upstream request of this isolate from `recordings`, keyed `"METHOD URL"`; a
 * request nobody recorded gets a 404 that names it (and is listed in `unrecorded`). `requests`
 * lists every request in the order sent. `restore()` sends requests to the network again.
 */
export function useRecordedUpstream(recordings: Record<string, Recorded | Recorded[]>) {
  const requests: string[] = [];
  const unrecorded: string[] = [];
  const served = new Map<string, number>();
  setStandInUpstream((request) => {
    const key = `${request.method} ${request.url}`;
    requests.push(key);
    const entry = recordings[key];
    if (entry === undefined) {
      unrecorded.push(key);
      return Response.json({ error: `nothing recorded for ${key}` }, { status: 404 });
    }
    // A list answers in turn (a failure, then the data), its last answer from then on.
    const list = Array.isArray(entry) ? entry : [entry];
    const n = served.get(key) ?? 0;
    served.set(key, n + 1);
    const answer = list[Math.min(n, list.length - 1)]!;
    const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
    const headers = { "content-type": typeof answer.body === "string" ? "text/plain" : "application/json", ...answer.headers };
    return new Response(text, { status: answer.status ?? 200, headers });
  });
  return { requests, unrecorded, restore: () => setStandInUpstream(undefined) };
}

/** Something that answers the Worker's HTTP API: `exports.default` or `SELF` in a test. */
export interface ApiFetcher {
  fetch(request: Request): Promise<Response>;
}

/**
 * Submit a run of `pipeline` through the API and wait until it ends (succeeded or not); throws
 * when the API refuses it or it has not ended within `timeoutMs`.
 */
export async function runToEnd(
  worker: ApiFetcher,
  pipeline: string,
  params: unknown,
  options: { token?: string; timeoutMs?: number; runOptions?: Record<string, unknown> } = {},
): Promise<RunView> {
  const headers: Record<string, string> = { "content-type": "application/json", ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) };
  const call = (path: string, init: RequestInit = {}) => worker.fetch(new Request(`http://sluice.test${path}`, { ...init, headers }));
  const submitted = await call("/v1/jobs", {
    method: "POST",
    body: JSON.stringify({ pipeline, params, ...(options.runOptions ? { options: options.runOptions } : {}) }),
  });
  if (submitted.status !== 202) throw new Error(`POST /v1/jobs: ${submitted.status} ${await submitted.text()}`);
  const { id } = (await submitted.json()) as { id: string };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const res = await call(`/v1/jobs/${id}`);
    if (!res.ok) throw new Error(`GET /v1/jobs/${id}: ${res.status} ${await res.text()}`);
    const view = (await res.json()) as RunView;
    if (TERMINAL_RUN_STATUSES.includes(view.status)) return view;
    if (Date.now() > deadline) throw new Error(`run ${id} is still ${view.status} after ${options.timeoutMs ?? 60_000} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `configProblems` over a wrangler.toml's text (import it with `?raw`). */
export function wranglerTomlProblems(catalog: Catalog, toml: string, localVars: Record<string, unknown> = {}): string[] {
  return configProblems(catalog, parse(toml) as WranglerConfig, localVars);
}

export { configProblems, cronsFor, type WranglerConfig } from "../wrangler-config";
