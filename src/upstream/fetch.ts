// Every upstream request goes through here: the sample upstream is routed to its Durable
// Object (no network), everything else to the real fetch; both bounded by a timeout.
import type { Env } from "../env";
import { TaskFailure } from "./classify";

/** Redirects followed within one origin, at most. */
const MAX_REDIRECTS = 5;

/** Base URL that pipelines use for the sample upstream. */
export const SAMPLE_ORIGIN = "http://sample-upstream.sluice.internal";

export function sampleEnabled(env: Pick<Env, "SAMPLE_UPSTREAM">): boolean {
  return env.SAMPLE_UPSTREAM === "enabled";
}

export function sampleUpstreamStub(env: Env) {
  if (!env.SAMPLE_UPSTREAM_STATE) throw new Error("this deployment binds no SAMPLE_UPSTREAM_STATE (the sample upstream's Durable Object)");
  return env.SAMPLE_UPSTREAM_STATE.get(env.SAMPLE_UPSTREAM_STATE.idFromName("default"));
}

/** Answers upstream requests in place of the network: tests only (`useRecordedUpstream` in sluice/testing). */
export type StandIn = (request: Request) => Response | Promise<Response>;
let standIn: StandIn | undefined;

/** Route every upstream request of this isolate to `fetcher` (undefined: back to the network). */
export function setStandInUpstream(fetcher: StandIn | undefined): void {
  standIn = fetcher;
}

/** The source's auth header, its value read from the named Worker secret. */
export function authHeaders(env: Env, auth: { header: string; secret: string; scheme?: string } | undefined): Record<string, string> {
  if (!auth) return {};
  const value = (env as unknown as Record<string, unknown>)[auth.secret];
  if (typeof value !== "string" || value === "") throw new Error(`the secret ${auth.secret} is not set: wrangler secret put ${auth.secret}`);
  return { [auth.header]: auth.scheme ? `${auth.scheme} ${value}` : value };
}

/**
 * A next page (or any URL a response names) on another origin than the request's — another host,
 * port, or https → http — is refused before anything is sent there: the request's headers (the
 * source's secret among them) never leave the origin they were meant for.
 */
export function assertSameOrigin(from: string, to: string, what: string): void {
  const origin = new URL(from).origin;
  const next = new URL(to).origin;
  if (next !== origin) {
    throw new TaskFailure({
      type: "cross_origin_refused",
      message: `${what} is on another origin (${next}, not ${origin}): refused, the request's headers are not sent there`,
      class: "permanent",
    });
  }
}

/**
 * One upstream request. Redirects are followed by hand, within the request's origin only (a
 * redirect elsewhere, or from https to http, is a permanent error naming the origin).
 */
export async function fetchUpstream(
  env: Env,
  url: string,
  init: { method?: string; body?: string; headers?: Record<string, string>; timeoutMs: number; signal?: AbortSignal },
): Promise<Response> {
  const timeout = AbortSignal.timeout(init.timeoutMs);
  const signal = init.signal ? AbortSignal.any([timeout, init.signal]) : timeout;
  let current = url;
  for (let hops = 0; ; hops++) {
    const response = await send(env, current, init, signal);
    const location = response.headers.get("location");
    if (response.status < 300 || response.status >= 400 || location === null) return response;
    await response.body?.cancel();
    const next = new URL(location, current).toString();
    assertSameOrigin(current, next, `a redirect (${response.status})`);
    if (hops >= MAX_REDIRECTS)
      throw new TaskFailure({ type: "too_many_redirects", message: `more than ${MAX_REDIRECTS} redirects from ${new URL(url).origin}`, class: "permanent" });
    current = next;
  }
}

async function send(env: Env, url: string, init: { method?: string; body?: string; headers?: Record<string, string> }, signal: AbortSignal): Promise<Response> {
  const request = new Request(url, { method: init.method ?? "GET", body: init.body, headers: init.headers, signal, redirect: "manual" });
  if (url.startsWith(`${SAMPLE_ORIGIN}/`)) {
    if (!sampleEnabled(env)) throw new Error("the sample upstream is disabled in this deployment");
    return sampleUpstreamStub(env).fetch(request);
  }
  return standIn ? standIn(request) : fetch(request);
}
