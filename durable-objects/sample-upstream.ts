// The sample upstream: a synthetic OGC EDR weather API with a rate limit, latency and faults.
// One Durable Object holds its config and counters, so every request (from the consumers, the
// demo or a test) is counted in one place. Served under /sample/edr when SAMPLE_UPSTREAM=enabled.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../src/env";
import { hash32 } from "../src/hash";
import { coverageCollection } from "../src/sample/coverage";
import { socialRoute } from "../src/sample/social";
import { shopRoute } from "../src/sample/shop";
import { emptyStats, sampleConfigSchema, type SampleConfig, type SampleStats } from "../src/sample/config";
import { SAMPLE_STATIONS, WEATHER_PARAMETERS, type WeatherParameter } from "../src/sample/weather-data";
import { errorBody } from "../src/errors";
import { UpstreamLimits, type UpstreamLimitSpec } from "../src/sample/limit-algorithms";

const PREFIX = "/sample/edr";
const HOOKS = "/sample/hooks/";
/** A webhook delivery the receiver keeps is at most this long (it keeps the last 100). */
const MAX_HOOK_BODY = 64 * 1024;
const SOCIAL = "/sample/social/";
const SHOP = "/sample/shop/";
/** A held request is answered after this long even if no test releases it. */
const HOLD_MAX_MS = 60_000;
const STATIONS_BY_ID = new Map(SAMPLE_STATIONS.map((s) => [s.id, s]));

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The config's limits: perSecond (a token bucket) and perHour (a fixed window), plus `limits`. */
function limitsOf(config: SampleConfig): UpstreamLimits {
  const specs: UpstreamLimitSpec[] = [...config.limits];
  if (config.perSecond > 0)
    specs.push({ algorithm: "token-bucket", requests: config.perSecond, perMs: 1000, burst: config.burst || Math.max(1, Math.floor(config.perSecond)) });
  if (config.perHour > 0) specs.push({ algorithm: "fixed-window", requests: config.perHour, perMs: 3_600_000 });
  return new UpstreamLimits(specs);
}

export class SampleUpstream extends DurableObject<Env> {
  private config: SampleConfig;
  private stats: SampleStats;
  /** Every limit the config sets, enforced together. */
  private limits: UpstreamLimits;
  /** The other client's next request (epoch ms), when one shares the key. */
  private otherNext = 0;
  /** URLs answered 200 (hashed), with `trackRepeats`. */
  private answered = new Set<number>();
  private second = { at: 0, count: 0 };
  /** An injected 429 burst in progress: its kind and the requests it still refuses. */
  private burst: { kind: "429" | "429-bare"; left: number } | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = sampleConfigSchema.parse(ctx.storage.kv.get("config") ?? {});
    this.stats = { ...emptyStats(), ...((ctx.storage.kv.get("stats") as Partial<SampleStats> | undefined) ?? {}) };
    this.limits = limitsOf(this.config);
  }

  /** A fresh start of every limit (and of the other client), as after a config change. */
  private resetLimits(): void {
    this.limits = limitsOf(this.config);
    this.otherNext = 0;
    this.answered.clear();
  }

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname.startsWith(HOOKS)) return this.hook(request, url.pathname.slice(HOOKS.length));
    const path = url.pathname.startsWith(PREFIX) ? url.pathname.slice(PREFIX.length) : url.pathname;
    if (path === "/_config") return this.configure(request);
    if (path === "/_release" && request.method === "POST") {
      const released = this.held.splice(0);
      for (const release of released) release();
      return json({ released: released.length });
    }
    if (path === "/_stats") {
      if (request.method === "DELETE") {
        this.stats = emptyStats();
        this.resetLimits();
        this.ctx.storage.kv.put("stats", this.stats);
        return json(this.stats);
      }
      return json({ ...this.stats, held: this.held.length });
    }
    if (request.method !== "GET") return json(errorBody("method_not_allowed", "the sample upstream serves GET only"), 405);
    return this.serveData(request, url, path);
  }

  /** A webhook receiver for tests and the demo: POST records a delivery, GET lists them. */
  private async hook(request: Request, name: string): Promise<Response> {
    if (!/^[a-z0-9-]{1,64}$/.test(name)) return json(errorBody("not_found", "no such hook"), 404);
    const key = `hook:${name}`;
    const received = (this.ctx.storage.kv.get(key) as unknown[] | undefined) ?? [];
    if (request.method === "GET") return json({ received, headers: this.ctx.storage.kv.get(`${key}:headers`) ?? [] });
    if (request.method === "DELETE") {
      this.ctx.storage.kv.delete(key);
      this.ctx.storage.kv.delete(`${key}:attempts`);
      this.ctx.storage.kv.delete(`${key}:headers`);
      return json({ received: [] });
    }
    if (request.method !== "POST") return json(errorBody("method_not_allowed", "use GET, POST or DELETE"), 405);
    if (Number(request.headers.get("content-length") ?? 0) > MAX_HOOK_BODY)
      return json(errorBody("body_too_large", `a delivery is at most ${MAX_HOOK_BODY} bytes`), 413);
    const text = await request.text();
    if (text.length > MAX_HOOK_BODY) return json(errorBody("body_too_large", `a delivery is at most ${MAX_HOOK_BODY} bytes`), 413);
    const attempts = Number(this.ctx.storage.kv.get(`${key}:attempts`) ?? 0) + 1;
    this.ctx.storage.kv.put(`${key}:attempts`, attempts);
    if (attempts <= this.config.webhookFailures) return json(errorBody("unavailable", "receiver failing on purpose"), 500);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return json(errorBody("invalid_json", "the body is not valid JSON"), 400);
    }
    this.ctx.storage.kv.put(key, [...received, body].slice(-100));
    // What a receiver checks before it trusts a delivery: its signature and credentials.
    const seen = (this.ctx.storage.kv.get(`${key}:headers`) as unknown[] | undefined) ?? [];
    const headers = { signature: request.headers.get("sluice-signature"), authorization: request.headers.get("authorization"), raw: text };
    this.ctx.storage.kv.put(`${key}:headers`, [...seen, headers].slice(-100));
    return json({ ok: true });
  }

  private async configure(request: Request): Promise<Response> {
    if (request.method === "GET") return json(this.config);
    if (request.method !== "PUT") return json(errorBody("method_not_allowed", "use GET or PUT"), 405);
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return json(errorBody("invalid_json", "the body is not valid JSON"), 400);
    }
    const parsed = sampleConfigSchema.safeParse(body);
    if (!parsed.success) return json(errorBody("invalid_config", "invalid sample upstream config", parsed.error.issues), 400);
    this.config = parsed.data;
    this.burst = null; // a new config ends an injected 429 burst
    for (const release of this.held.splice(0)) release(); // and answers the requests it held
    this.resetLimits();
    this.ctx.storage.kv.put("config", this.config);
    return json(this.config);
  }

  private count(status: number, fault?: string): void {
    const s = this.stats;
    s.byStatus[status] = (s.byStatus[status] ?? 0) + 1;
    if (status === 429 && !fault) s.violations++; // an injected 429 is a fault, not a breach of the limit
    if (fault) s.faults[fault] = (s.faults[fault] ?? 0) + 1;
    this.ctx.storage.kv.put("stats", s);
  }

  /**
   * The other client's requests up to `now`, into the same limits (its refusals are its own). It
   * was there first: when it starts (or comes back after a minute's quiet), its requests of the
   * longest window before `now` count too, as a client already using the key would have sent them.
   */
  private otherClient(now: number): void {
    const rate = this.config.otherClientPerSecond;
    if (rate <= 0) return;
    const interval = 1000 / rate;
    const longest = Math.min(60_000, Math.max(0, ...this.config.limits.map((l) => l.perMs)));
    if (this.otherNext === 0 || now - this.otherNext > 60_000) this.otherNext = now - longest;
    for (; this.otherNext <= now; this.otherNext += interval) {
      if (this.limits.admit(this.otherNext) > 0) this.stats.other.refused++;
      else this.stats.other.sent++;
    }
  }

  /** The rate-limit headers the config asks for, on every data answer. */
  private limitHeaders(now: number): Record<string, string> {
    const h = this.config.rateLimitHeaders === "none" ? null : this.limits.headers(now);
    if (!h) return {};
    if (this.config.rateLimitHeaders === "ietf") return { ratelimit: `limit=${h.limit}, remaining=${h.remaining}, reset=${h.resetSeconds}` };
    return { "x-ratelimit-limit": String(h.limit), "x-ratelimit-remaining": String(h.remaining), "x-ratelimit-reset": String(h.resetSeconds) };
  }

  /** When to come back, as the config says to tell it. */
  private retryAfterHeader(now: number, waitMs: number): Record<string, string> {
    if (this.config.retryAfter === "none") return {};
    if (this.config.retryAfter === "date") return { "retry-after": new Date(Math.ceil((now + waitMs) / 1000) * 1000).toUTCString() };
    return { "retry-after": String(Math.max(1, Math.ceil(waitMs / 1000))) };
  }

  /** Requests held until the test releases them (`holdRequests`), each with its release. */
  private held: (() => void)[] = [];

  private hold(): Promise<void> {
    return new Promise((resolve) => {
      const release = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.held = this.held.filter((r) => r !== release);
        resolve();
      }, HOLD_MAX_MS);
      this.held.push(release);
    });
  }

  private async serveData(request: Request, url: URL, path: string): Promise<Response> {
    const now = Date.now();
    const s = this.stats;
    const index = ++s.requests; // faults are drawn by arrival, whatever else arrives during the latency
    s.firstAt ??= now;
    s.lastAt = now;
    const second = Math.floor(now / 1000);
    if (second !== this.second.at) this.second = { at: second, count: 0 };
    this.second.count++;
    s.peakPerSecond = Math.max(s.peakPerSecond, this.second.count);

    this.otherClient(now);
    const wait = this.limits.admit(now);
    if (wait > 0) {
      this.count(429);
      return json(errorBody("rate_limited", "rate limit exceeded"), 429, { ...this.retryAfterHeader(now, wait), ...this.limitHeaders(now) });
    }
    const limitHeaders = this.limitHeaders(now);
    if (this.config.holdRequests) {
      await this.hold();
      // The caller may have gone while it waited (its run was cancelled): nothing to answer.
      if (request.signal.aborted) return new Response(null, { status: 499 });
    }
    // The latency is the whole call's: the answer is built while it runs, not after it (a real
    // upstream's "10 s a call" includes its own work, done on its own machines).
    let prepared: Promise<Response> | undefined;
    if (this.config.latencyMs > 0) {
      const latency = sleep(this.config.latencyMs);
      prepared = this.route(request, url, path);
      prepared.catch(() => undefined); // awaited below unless a fault answers instead
      await latency;
    }

    const { faultRate, faultKinds, seed } = this.config;
    if (this.burst) {
      const { kind } = this.burst;
      if (--this.burst.left <= 0) this.burst = null;
      return this.refuse(kind);
    }
    if (faultRate > 0) {
      const draw = hash32(`${seed}|${index}`) / 0x1_0000_0000;
      if (draw < faultRate) {
        const kind = faultKinds[hash32(`${seed}|kind|${index}`) % faultKinds.length]!;
        if (kind === "429" || kind === "429-bare") {
          if (this.config.burst429 > 1) this.burst = { kind, left: this.config.burst429 - 1 };
          return this.refuse(kind);
        }
        if (kind === "5xx") {
          this.count(503, kind);
          return json(errorBody("unavailable", "transient upstream failure"), 503);
        }
        if (kind === "timeout") {
          this.count(504, kind);
          await sleep(this.config.hangMs);
          return json(errorBody("gateway_timeout", "upstream timed out"), 504);
        }
        const full = await this.route(request, url, path);
        const text = await full.text();
        this.count(200, kind);
        return new Response(text.slice(0, Math.floor(text.length / 2)), { status: 200, headers: { "content-type": "application/json" } });
      }
    }
    const response = await (prepared ?? this.route(request, url, path));
    this.count(response.status);
    if (response.status === 200 && this.config.trackRepeats) {
      const h = hash32(url.pathname + url.search);
      if (this.answered.has(h)) this.stats.repeats++;
      else this.answered.add(h);
    }
    for (const [name, value] of Object.entries(limitHeaders)) response.headers.set(name, value);
    return response;
  }

  /** An injected 429, with Retry-After: 1 or without one. */
  private refuse(kind: "429" | "429-bare"): Response {
    this.count(429, kind);
    return json(errorBody("rate_limited", "too many requests (injected)"), 429, kind === "429" ? { "retry-after": "1" } : {});
  }

  private async route(request: Request, url: URL, path: string): Promise<Response> {
    if (path.startsWith(SOCIAL)) return socialRoute(request, url, path.slice(SOCIAL.length), this.config);
    if (path.startsWith(SHOP)) return shopRoute(url, path.slice(SHOP.length));
    if (path === "/collections/hourly/locations") {
      return json({
        type: "FeatureCollection",
        features: SAMPLE_STATIONS.map((st) => ({
          type: "Feature",
          id: st.id,
          geometry: { type: "Point", coordinates: [st.lon, st.lat] },
          properties: { name: st.name },
        })),
      });
    }
    const match = /^\/collections\/hourly\/locations\/([0-9,]+)$/.exec(path);
    if (!match) return json(errorBody("not_found", `no route ${path}`), 404);
    const ids = match[1]!.split(",").filter(Boolean);
    if (ids.some((id) => this.config.failingStations.includes(id))) return json(errorBody("unavailable", "station temporarily unavailable"), 503);
    const deleted = ids.filter((id) => this.config.deletedStations.includes(id) || !STATIONS_BY_ID.has(id));
    if (deleted.length > 0) return json(errorBody("not_found", `unknown or deleted locations: ${deleted.join(",")}`), 404);
    const datetime = url.searchParams.get("datetime") ?? "";
    const [from, to] = datetime.split("/");
    const start = Date.parse(from ?? "");
    const end = Date.parse(to ?? "");
    if (!Number.isFinite(start) || !Number.isFinite(end) || end <= start || end - start > 366 * 86_400_000 + 1) {
      return json(errorBody("bad_request", "datetime must be START/END (ISO 8601, END after START, at most a year)"), 400);
    }
    const names = (url.searchParams.get("parameter-name") ?? WEATHER_PARAMETERS.join(",")).split(",");
    const unknown = names.filter((n) => !(WEATHER_PARAMETERS as readonly string[]).includes(n));
    if (unknown.length > 0) return json(errorBody("bad_request", `unknown parameters: ${unknown.join(",")}`), 400);
    const stations = ids.map((id) => STATIONS_BY_ID.get(id)!);
    return json(coverageCollection(stations, start, end, names as WeatherParameter[], this.config.gapStations));
  }
}
