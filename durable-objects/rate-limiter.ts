// One rate limiter per upstream, shared by every run that calls it. It holds a per-second token
// bucket (GCRA, with burst) and a per-UTC-hour budget at once, and leases tokens in blocks: each
// token comes with the instant it may be spent, never more than HORIZON_MS ahead. Each token is
// also a permit for one request in flight, returned by the holder when its request ends (or
// when its lease expires), so concurrency against the upstream is bounded across all consumers.
// A 429 from the upstream pauses the upstream and halves the rate, which recovers over RECOVERY_MS.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../src/env";
import type { RateLimit } from "../src/pipelines/define";

export interface Lease {
  /** Epoch ms at which each granted token may be spent, ascending. */
  slots: number[];
  /** When no token could be granted within the horizon: how long to wait before asking again. */
  retryAfterMs: number;
  /** Set when no token was granted because every in-flight permit is taken (not the rate). */
  atConcurrency?: true;
}

interface LimiterState {
  /** GCRA theoretical arrival time (epoch ms). */
  tat: number;
  hourStart: number;
  hourUsed: number;
  pausedUntil: number;
  /** Rate multiplier after a 429, recovering linearly to 1 from `penaltyAt`. */
  penalty: number;
  penaltyAt: number;
}

/** How far ahead a lease may schedule tokens. */
export const HORIZON_MS = 1_000;
/** Stay this far under the upstream's per-second rate, for clock and network jitter. */
export const RATE_MARGIN = 0.02;
export const RECOVERY_MS = 30_000;
const HOUR = 3_600_000;

const initial = (): LimiterState => ({ tat: 0, hourStart: 0, hourUsed: 0, pausedUntil: 0, penalty: 1, penaltyAt: 0 });

/** The lease arithmetic, free of storage so it can be tested over simulated time. */
export function grant(state: LimiterState, limits: RateLimit, tokens: number, now: number): Lease {
  const factor = Math.min(1, state.penalty + ((now - state.penaltyAt) / RECOVERY_MS) * (1 - state.penalty));
  const rate = limits.perSecond * (1 - RATE_MARGIN) * factor;
  const interval = 1000 / rate;
  // One token of the upstream's bucket is kept back for jitter; a penalty shrinks bursts too.
  const burst = Math.max(1, Math.floor(((limits.burst ?? Math.floor(limits.perSecond)) - 1) * factor));
  const tolerance = (burst - 1) * interval;
  const slots: number[] = [];
  let earliest = Math.max(now, state.pausedUntil);
  let retryAfterMs = 0;
  for (let i = 0; i < tokens; i++) {
    let slot = Math.max(earliest, state.tat - tolerance);
    if (limits.perHour !== undefined) {
      const hourStart = Math.floor(slot / HOUR) * HOUR;
      if (hourStart !== state.hourStart) {
        state.hourStart = hourStart;
        state.hourUsed = 0;
      }
      if (state.hourUsed >= limits.perHour) {
        slot = hourStart + HOUR;
        if (slot - now > HORIZON_MS) {
          retryAfterMs = slot - now;
          break;
        }
        state.hourStart = slot;
        state.hourUsed = 0;
      }
    }
    if (slot - now > HORIZON_MS) {
      // Booked a full horizon ahead: come back when half of it can be granted as one block (not
      // for each token as it frees; the caller holds tokens for the time until then anyway).
      retryAfterMs = Math.max(Math.ceil(slot - now - HORIZON_MS), HORIZON_MS / 2);
      break;
    }
    state.tat = Math.max(state.tat, slot) + interval;
    if (limits.perHour !== undefined) state.hourUsed++;
    slots.push(Math.ceil(slot));
    earliest = slot;
  }
  if (slots.length === 0 && retryAfterMs === 0) retryAfterMs = Math.ceil(interval);
  return { slots, retryAfterMs };
}

/** After a 429: pause for Retry-After (or one second), halve the rate, recover over RECOVERY_MS. */
export function penalize(state: LimiterState, now: number, retryAfterMs: number | undefined): void {
  state.pausedUntil = Math.max(state.pausedUntil, now + (retryAfterMs ?? 1000));
  state.penalty = Math.max(0.1, Math.min(1, state.penalty + ((now - state.penaltyAt) / RECOVERY_MS) * (1 - state.penalty)) / 2);
  state.penaltyAt = now;
  state.tat = Math.max(state.tat, state.pausedUntil);
}

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
  /** Permits of a holder that stops calling come back after this long. */
  leaseMs: number;
}

/**
 * Grant tokens within both the rate and the in-flight bound. Permits are shared fairly: while
 * several holders ask, none holds more than its share of the bound, so a holder that finishes a
 * request and asks again at once cannot starve one that polls.
 */
export function grantWithPermits(state: LimiterState, holders: Holders, limits: RateLimit, tokens: number, options: LeaseOptions, now: number): Lease {
  for (const [id, h] of Object.entries(holders)) {
    if (h.expiresAt <= now || (h.permits === 0 && (h.askedAt ?? 0) + WAITING_MS <= now)) delete holders[id];
  }
  const mine = (holders[options.holder] ??= { permits: 0, expiresAt: now + options.leaseMs });
  mine.askedAt = now;
  mine.permits = Math.max(0, mine.permits - options.release);
  const inFlight = Object.values(holders).reduce((n, h) => n + h.permits, 0);
  const share = Math.ceil(options.maxInFlight / Object.keys(holders).length);
  const allowed = Math.min(tokens, options.maxInFlight - inFlight, share - mine.permits);
  if (allowed <= 0) return { slots: [], retryAfterMs: 100, atConcurrency: true };
  const lease = grant(state, limits, allowed, now);
  mine.permits += lease.slots.length;
  mine.expiresAt = now + options.leaseMs;
  return lease;
}

export class RateLimiter extends DurableObject<Env> {
  private state: LimiterState;
  private holders: Holders;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.state = (ctx.storage.kv.get("state") as LimiterState | undefined) ?? initial();
    this.holders = (ctx.storage.kv.get("holders") as Holders | undefined) ?? {};
  }

  /** Lease up to `tokens` request slots, each also a permit for one request in flight. */
  acquire(limits: RateLimit, tokens: number, options: LeaseOptions): Lease {
    const lease = grantWithPermits(this.state, this.holders, limits, Math.max(0, Math.min(tokens, 1000)), options, Date.now());
    this.ctx.storage.kv.put("state", this.state);
    this.ctx.storage.kv.put("holders", this.holders);
    return lease;
  }

  /** Give permits back: the holder's requests ended, or it leased more than it used. */
  release(holder: string, permits: number): void {
    const h = this.holders[holder];
    if (!h) return;
    h.permits = Math.max(0, h.permits - permits);
    if (h.permits === 0) delete this.holders[holder];
    this.ctx.storage.kv.put("holders", this.holders);
  }

  /** The upstream answered 429 despite the lease (another client, or its clock): back off. */
  throttled(retryAfterMs?: number): void {
    penalize(this.state, Date.now(), retryAfterMs);
    this.ctx.storage.kv.put("state", this.state);
  }

  snapshot(): LimiterState & { inFlight: number } {
    return { ...this.state, inFlight: Object.values(this.holders).reduce((n, h) => n + h.permits, 0) };
  }
}
