// One rate limiter per upstream, shared by every run that calls it. It holds the upstream's
// windows (limiter/schedule.ts: sliding log and counter per window, or a token bucket where a
// burst is declared) and leases tokens in blocks: each token comes with the instant it may be
// spent, never more than HORIZON_MS ahead. Each token is also a permit for one request in
// flight, returned by the holder when its request ends (or when its lease expires), so
// concurrency against the upstream is bounded across all consumers. A 429 pauses the upstream
// and lowers the effective limit to the share it showed (limiter/schedule.ts); answers that state
// what remains of the limit show another client's share before any 429 (limiter/answers.ts).
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../src/env";
import type { RateLimit } from "../src/upstream/limits";
import type { Answer } from "./limiter/answers";
import { forget, grant, learnFrom, learnFrom429, reportLateness } from "./limiter/schedule";
import { initialState, type Lease, type LimiterState } from "./limiter/state";

export type { Lease } from "./limiter/state";

/** Who holds how many in-flight permits, until when, and when each last asked. */
export type Holders = Record<string, { permits: number; expiresAt: number; askedAt?: number }>;

/** A holder refused a permit still counts toward the fair share this long after it last asked. */
const WAITING_MS = 1_000;

export interface LeaseOptions {
  /** The consumer invocation asking: its permits are counted together. */
  holder: string;
  /** Requests in flight against the upstream at once, across every holder. */
  maxInFlight: number;
  /** Permits the holder gives back with this call (its finished requests). */
  release: number;
  /** Permits of a holder that stops calling (and renewing) come back after this long. */
  leaseMs: number;
  /** No slot sooner than this from now: the lease's way back to the holder (its round trip). */
  leadMs?: number;
  /** The latest the holder spent a token after its instant since its last call: the margins grow to cover it. */
  lateMs?: number;
  /** Slots of tokens the holder leased and did not spend: their budget is granted again. */
  unspent?: number[];
  /** What the upstream answered to the holder's requests since its last call (the quota it stated). */
  answers?: Answer[];
}

/** Unspent slots a call may return (a holder leases at most this many at once). */
const MAX_UNSPENT = 1000;

/**
 * Grant tokens within both the rate and the in-flight bound. Permits are shared fairly: while
 * several holders ask, none holds more than its share of the bound, so a holder that finishes a
 * request and asks again at once cannot starve one that polls.
 */
export function grantWithPermits(state: LimiterState, holders: Holders, limits: RateLimit, tokens: number, options: LeaseOptions, now: number): Lease {
  for (const [id, h] of Object.entries(holders)) {
    if (h.expiresAt <= now || (h.permits === 0 && (h.askedAt ?? 0) + WAITING_MS <= now)) delete holders[id];
  }
  if (options.lateMs !== undefined && options.lateMs > 0) reportLateness(state, options.lateMs, now);
  if (options.unspent?.length) forget(state, limits, options.unspent.slice(0, MAX_UNSPENT));
  if (options.answers?.length) learnFrom(state, limits, options.answers);
  const mine = (holders[options.holder] ??= { permits: 0, expiresAt: now + options.leaseMs });
  mine.askedAt = now;
  mine.permits = Math.max(0, mine.permits - options.release);
  const inFlight = Object.values(holders).reduce((n, h) => n + h.permits, 0);
  const share = Math.ceil(options.maxInFlight / Object.keys(holders).length);
  const allowed = Math.min(tokens, options.maxInFlight - inFlight, share - mine.permits);
  if (allowed <= 0) return { slots: [], retryAfterMs: 100, atConcurrency: true };
  const lease = grant(state, limits, allowed, now, options.leadMs, true);
  mine.permits += lease.slots.length;
  mine.expiresAt = now + options.leaseMs;
  return lease;
}

/** A live holder's permits stay leased `leaseMs` (10 min at most) from now; false when it holds none. */
export function renewLease(holders: Holders, holder: string, leaseMs: number, now: number): boolean {
  const h = holders[holder];
  if (!h || h.expiresAt <= now) return false;
  h.expiresAt = Math.max(h.expiresAt, now + Math.min(leaseMs, 600_000));
  return true;
}

/** What a call cost the limiter, in its answer: the caller's metered stub adds it to the run's usage. */
export type Spent = { spent: { sqliteRowsWritten: number } };

export class RateLimiter extends DurableObject<Env> {
  private state: LimiterState;
  private holders: Holders;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS limiter (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID");
    const stored = new Map(
      ctx.storage.sql
        .exec("SELECT name, value FROM limiter")
        .toArray()
        .map((r) => [String(r.name), JSON.parse(String(r.value)) as unknown]),
    );
    // Limiters from before the table kept their state in the KV API: read once, written back as rows.
    this.state = { ...initialState(), ...((stored.get("state") ?? ctx.storage.kv.get("limiter")) as LimiterState | undefined) };
    this.holders = ((stored.get("holders") ?? ctx.storage.kv.get("holders")) as Holders | undefined) ?? {};
  }

  /** Store the named parts of the state; returns the SQLite rows written. */
  private save(...parts: ("state" | "holders")[]): number {
    let rows = 0;
    for (const name of parts) {
      const value = JSON.stringify(name === "state" ? this.state : this.holders);
      rows += this.ctx.storage.sql.exec(
        "INSERT INTO limiter (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        name,
        value,
      ).rowsWritten;
    }
    return rows;
  }

  /** Lease up to `tokens` request slots, each also a permit for one request in flight. */
  acquire(limits: RateLimit, tokens: number, options: LeaseOptions): Lease & Spent {
    const lease = grantWithPermits(this.state, this.holders, limits, Math.max(0, Math.min(tokens, 1000)), options, Date.now());
    return { ...lease, spent: { sqliteRowsWritten: this.save("state", "holders") } };
  }

  /**
   * Give permits back (the holder's requests ended, or it leased more than it used), the slots it
   * did not spend and what the upstream answered since its last call.
   */
  release(holder: string, permits: number, limits?: RateLimit, unspent?: number[], answers?: Answer[]): Spent {
    let rows = 0;
    if (limits && (unspent?.length || answers?.length)) {
      if (unspent?.length) forget(this.state, limits, unspent.slice(0, MAX_UNSPENT));
      if (answers?.length) learnFrom(this.state, limits, answers);
      rows += this.save("state");
    }
    const h = this.holders[holder];
    if (!h) return { spent: { sqliteRowsWritten: rows } };
    h.permits = Math.max(0, h.permits - permits);
    if (h.permits === 0) delete this.holders[holder];
    return { spent: { sqliteRowsWritten: rows + this.save("holders") } };
  }

  /** The holder is alive and its requests still run: its permits stay leased for `leaseMs` more. */
  renew(holder: string, leaseMs: number): Spent {
    if (!renewLease(this.holders, holder, leaseMs, Date.now())) return { spent: { sqliteRowsWritten: 0 } };
    return { spent: { sqliteRowsWritten: this.save("holders") } };
  }

  /**
   * The upstream answered 429 to the request spent at `slot`, the `seq`th granted (another client on the key, or a
   * stricter limit than declared): pause for `retryAfterMs` and learn the share it left us.
   */
  throttled(limits: RateLimit, retryAfterMs?: number, slot?: number, seq?: number): Spent {
    learnFrom429(this.state, limits, Date.now(), retryAfterMs, slot, seq);
    return { spent: { sqliteRowsWritten: this.save("state") } };
  }

  snapshot(): LimiterState & { inFlight: number } {
    return { ...this.state, inFlight: Object.values(this.holders).reduce((n, h) => n + h.permits, 0) };
  }
}
