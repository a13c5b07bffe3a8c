// One rate limiter per upstream, shared by every run that calls it. It holds a per-second token
// bucket (GCRA, with burst) and a per-UTC-hour budget at once, and leases tokens in blocks: each
// token comes with the instant it may be spent, never more than HORIZON_MS ahead. Apart from the
// tokens it lends in-flight permits: a consumer invocation holds a number of them (its fair share
// of the upstream's concurrency) and keeps at most that many requests in flight on its own, so a
// finished request costs no call here; permits come back when the invocation ends, when its
// share shrinks, or when its lease expires. A 429 from the upstream pauses the upstream and
// halves the rate, which recovers over RECOVERY_MS.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../src/env";
import type { RateLimit } from "../src/pipelines/define";

export interface Lease {
  /** Epoch ms at which each granted token may be spent, ascending. */
  slots: number[];
  /** When no token could be granted within the horizon: how long to wait before asking again. */
  retryAfterMs: number;
  /** Set when the holder has no permit (every one is taken): nothing was granted. */
  atConcurrency?: true;
  /** In-flight permits the holder now holds. */
  permits: number;
  /** The holder's fair share of the permits while others want them too; give back what is above it. */
  share: number;
}

/** Tokens alone (the rate), before permits. */
export type TokenGrant = Pick<Lease, "slots" | "retryAfterMs">;

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
export function grant(state: LimiterState, limits: RateLimit, tokens: number, now: number): TokenGrant {
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
      retryAfterMs = Math.ceil(slot - now - HORIZON_MS);
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

/** Who holds how many in-flight permits, how many it would use, until when, and when it last asked. */
export type Holders = Record<string, { permits: number; wants?: number; expiresAt: number; askedAt?: number }>;

/** A holder refused a permit still counts toward the fair share this long after it last asked. */
const WAITING_MS = 1_000;

export interface LeaseOptions {
  /** The consumer invocation asking: its permits are counted together. */
  holder: string;
  /** Requests in flight against the upstream at once, across every holder. */
  maxInFlight: number;
  /** Permits the holder gives back with this call (above its share, or no longer needed). */
  release: number;
  /** Permits the holder could use now (its requests in flight and waiting), at most maxInFlight. */
  want: number;
  /** Permits of a holder that stops calling come back after this long. */
  leaseMs: number;
}

/**
 * Grant permits up to the holder's fair share of the in-flight bound, then tokens within the rate.
 * While several holders want permits none is granted more than its share, so one invocation
 * cannot keep the others out; a holder above its share gives back what it frees.
 */
export function grantWithPermits(state: LimiterState, holders: Holders, limits: RateLimit, tokens: number, options: LeaseOptions, now: number): Lease {
  for (const [id, h] of Object.entries(holders)) {
    if (h.expiresAt <= now || (h.permits === 0 && (h.askedAt ?? 0) + WAITING_MS <= now)) delete holders[id];
  }
  const mine = (holders[options.holder] ??= { permits: 0, expiresAt: now + options.leaseMs });
  mine.askedAt = now;
  mine.expiresAt = now + options.leaseMs;
  mine.permits = Math.max(0, mine.permits - options.release);
  mine.wants = Math.min(options.want, options.maxInFlight);
  const inFlight = Object.values(holders).reduce((n, h) => n + h.permits, 0);
  const wanting = Object.values(holders).filter((h) => h.permits > 0 || (h.wants ?? 0) > 0).length;
  const share = Math.ceil(options.maxInFlight / Math.max(1, wanting));
  const more = Math.min(mine.wants - mine.permits, options.maxInFlight - inFlight, share - mine.permits);
  if (more > 0) mine.permits += more;
  if (mine.permits === 0) {
    if (mine.wants === 0) delete holders[options.holder];
    return { slots: [], retryAfterMs: 100, atConcurrency: true, permits: 0, share };
  }
  const lease = tokens > 0 ? grant(state, limits, tokens, now) : { slots: [], retryAfterMs: 0 };
  return { ...lease, permits: mine.permits, share };
}

export class RateLimiter extends DurableObject<Env> {
  private state: LimiterState;
  private holders: Holders;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.state = (ctx.storage.kv.get("state") as LimiterState | undefined) ?? initial();
    this.holders = (ctx.storage.kv.get("holders") as Holders | undefined) ?? {};
  }

  /** Lease up to `tokens` request slots, and in-flight permits up to the holder's share. */
  acquire(limits: RateLimit, tokens: number, options: LeaseOptions): Lease {
    const lease = grantWithPermits(this.state, this.holders, limits, Math.max(0, Math.min(tokens, 1000)), options, Date.now());
    this.ctx.storage.kv.put("state", this.state);
    this.ctx.storage.kv.put("holders", this.holders);
    return lease;
  }

  /** Give permits back: the holder's invocation ended, or it holds more than it needs. */
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
