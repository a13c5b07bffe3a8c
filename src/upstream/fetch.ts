// Every upstream request goes through here: the sample upstream is routed to its Durable
// Object (no network), everything else to the real fetch; both bounded by a timeout.
import type { Env } from "../env";

/** Base URL that pipelines use for the sample upstream. */
export const SAMPLE_ORIGIN = "http://sample-upstream.sluice.internal";

export function sampleEnabled(env: Env): boolean {
  return env.SAMPLE_UPSTREAM === "enabled";
}

export function sampleUpstreamStub(env: Env) {
  return env.SAMPLE_UPSTREAM_STATE.get(env.SAMPLE_UPSTREAM_STATE.idFromName("default"));
}

/** The source's auth header, its value read from the named Worker secret. */
export function authHeaders(env: Env, auth: { header: string; secret: string; scheme?: string } | undefined): Record<string, string> {
  if (!auth) return {};
  const value = (env as unknown as Record<string, unknown>)[auth.secret];
  if (typeof value !== "string" || value === "") throw new Error(`the secret ${auth.secret} is not set: wrangler secret put ${auth.secret}`);
  return { [auth.header]: auth.scheme ? `${auth.scheme} ${value}` : value };
}

export async function fetchUpstream(
  env: Env,
  url: string,
  init: { method?: string; body?: string; headers?: Record<string, string>; timeoutMs: number; signal?: AbortSignal },
): Promise<Response> {
  const timeout = AbortSignal.timeout(init.timeoutMs);
  const signal = init.signal ? AbortSignal.any([timeout, init.signal]) : timeout;
  const request = new Request(url, { method: init.method ?? "GET", body: init.body, headers: init.headers, signal });
  if (url.startsWith(`${SAMPLE_ORIGIN}/`)) {
    if (!sampleEnabled(env)) throw new Error("the sample upstream is disabled in this deployment");
    return sampleUpstreamStub(env).fetch(request);
  }
  return fetch(request);
}
