// How real upstreams enforce their limits, written the way API gateways write them (not the way
// sluice's limiter schedules): the sample upstream enforces any of these, several at once, so
// sluice is tested against rules it did not write. A request is admitted only when every limit
// admits it; a refused request counts against none of them.

export type LimitAlgorithm = "token-bucket" | "fixed-window" | "sliding-log" | "sliding-counter";

export interface UpstreamLimitSpec {
  algorithm: LimitAlgorithm;
  requests: number;
  /** The window's length (token bucket: refills `requests` every `perMs`). */
  perMs: number;
  /** Token bucket capacity; default `requests`. */
  burst?: number;
}

export interface UpstreamLimit {
  /** 0 when a request at `t` is allowed; otherwise ms until it would be. */
  check(t: number): number;
  /** Count an admitted request at `t`. */
  commit(t: number): void;
  /** What `X-RateLimit-*` would say at `t`. */
  remaining(t: number): number;
  resetMs(t: number): number;
}

/** Refills continuously at requests/perMs up to the capacity; a request takes one token. */
class TokenBucket implements UpstreamLimit {
  private tokens: number;
  private at = 0;
  private readonly rate: number;
  private readonly capacity: number;
  constructor(spec: UpstreamLimitSpec) {
    this.rate = spec.requests / spec.perMs;
    this.capacity = spec.burst ?? spec.requests;
    this.tokens = this.capacity;
  }
  private refill(t: number): void {
    if (t > this.at) this.tokens = Math.min(this.capacity, this.tokens + (t - this.at) * this.rate);
    this.at = Math.max(this.at, t);
  }
  check(t: number): number {
    this.refill(t);
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.rate);
  }
  commit(t: number): void {
    this.refill(t);
    this.tokens -= 1;
  }
  remaining(t: number): number {
    this.refill(t);
    return Math.floor(this.tokens);
  }
  resetMs(t: number): number {
    this.refill(t);
    return Math.ceil((this.capacity - this.tokens) / this.rate);
  }
}

/** A counter per clock-aligned window (`floor(t / perMs)`), reset at each boundary. */
class FixedWindow implements UpstreamLimit {
  private index = -1;
  private count = 0;
  private readonly spec: UpstreamLimitSpec;
  constructor(spec: UpstreamLimitSpec) {
    this.spec = spec;
  }
  private roll(t: number): void {
    const index = Math.floor(t / this.spec.perMs);
    if (index !== this.index) {
      this.index = index;
      this.count = 0;
    }
  }
  check(t: number): number {
    this.roll(t);
    return this.count < this.spec.requests ? 0 : (this.index + 1) * this.spec.perMs - t;
  }
  commit(t: number): void {
    this.roll(t);
    this.count++;
  }
  remaining(t: number): number {
    this.roll(t);
    return Math.max(0, this.spec.requests - this.count);
  }
  resetMs(t: number): number {
    return (Math.floor(t / this.spec.perMs) + 1) * this.spec.perMs - t;
  }
}

/** Every admitted request's time; at most `requests` in any rolling `(t − perMs, t]`. */
class SlidingLog implements UpstreamLimit {
  private log: number[] = [];
  private readonly spec: UpstreamLimitSpec;
  constructor(spec: UpstreamLimitSpec) {
    this.spec = spec;
  }
  private trim(t: number): void {
    let drop = 0;
    while (drop < this.log.length && this.log[drop]! <= t - this.spec.perMs) drop++;
    if (drop > 0) this.log.splice(0, drop);
  }
  check(t: number): number {
    this.trim(t);
    return this.log.length < this.spec.requests ? 0 : this.log[this.log.length - this.spec.requests]! + this.spec.perMs - t + 1;
  }
  commit(t: number): void {
    this.trim(t);
    this.log.push(t);
  }
  remaining(t: number): number {
    this.trim(t);
    return Math.max(0, this.spec.requests - this.log.length);
  }
  resetMs(t: number): number {
    this.trim(t);
    return this.log.length === 0 ? 0 : this.log[0]! + this.spec.perMs - t;
  }
}

/**
 * The common approximation of a rolling window (as in Cloudflare's and many Redis limiters):
 * previous window's count × the share of it still in view + this window's count < requests.
 */
class SlidingCounter implements UpstreamLimit {
  private index = -1;
  private current = 0;
  private previous = 0;
  private readonly spec: UpstreamLimitSpec;
  constructor(spec: UpstreamLimitSpec) {
    this.spec = spec;
  }
  private roll(t: number): void {
    const index = Math.floor(t / this.spec.perMs);
    if (index === this.index) return;
    this.previous = index === this.index + 1 ? this.current : 0;
    this.current = 0;
    this.index = index;
  }
  private estimate(t: number): number {
    this.roll(t);
    const elapsed = (t - this.index * this.spec.perMs) / this.spec.perMs;
    return this.previous * (1 - elapsed) + this.current;
  }
  check(t: number): number {
    if (this.estimate(t) < this.spec.requests) return 0;
    const { perMs, requests } = this.spec;
    if (this.current >= requests || this.previous === 0) return (this.index + 1) * perMs - t;
    const elapsedNeeded = 1 - (requests - this.current) / this.previous;
    return Math.max(1, Math.ceil(this.index * perMs + elapsedNeeded * perMs - t) + 1);
  }
  commit(t: number): void {
    this.roll(t);
    this.current++;
  }
  remaining(t: number): number {
    return Math.max(0, Math.floor(this.spec.requests - this.estimate(t)));
  }
  resetMs(t: number): number {
    return (Math.floor(t / this.spec.perMs) + 1) * this.spec.perMs - t;
  }
}

export function upstreamLimit(spec: UpstreamLimitSpec): UpstreamLimit {
  switch (spec.algorithm) {
    case "token-bucket":
      return new TokenBucket(spec);
    case "fixed-window":
      return new FixedWindow(spec);
    case "sliding-log":
      return new SlidingLog(spec);
    case "sliding-counter":
      return new SlidingCounter(spec);
  }
}

/** Several limits at once: admitted only when all admit; a refusal counts against none. */
export class UpstreamLimits {
  private readonly limits: UpstreamLimit[];
  readonly specs: UpstreamLimitSpec[];
  constructor(specs: UpstreamLimitSpec[]) {
    this.specs = specs;
    this.limits = specs.map(upstreamLimit);
  }
  /** An independent copy in the same state (to try a request on without counting it here). */
  copy(): UpstreamLimits {
    const c = new UpstreamLimits(this.specs);
    c.limits.splice(
      0,
      c.limits.length,
      ...this.limits.map((l) => Object.assign(Object.create(Object.getPrototypeOf(l) as object) as UpstreamLimit, structuredClone({ ...l }))),
    );
    return c;
  }

  /** 0: admitted and counted. Otherwise: refused, ms until it would be admitted. */
  admit(t: number): number {
    const wait = Math.max(0, ...this.limits.map((l) => l.check(t)));
    if (wait === 0) for (const l of this.limits) l.commit(t);
    return wait;
  }
  /** The tightest limit's headers at `t`: limit, remaining, seconds to reset. */
  headers(t: number): { limit: number; remaining: number; resetSeconds: number } | null {
    if (this.limits.length === 0) return null;
    let best = 0;
    this.limits.forEach((l, i) => {
      if (l.remaining(t) < this.limits[best]!.remaining(t)) best = i;
    });
    const l = this.limits[best]!;
    return { limit: this.specs[best]!.requests, remaining: l.remaining(t), resetSeconds: Math.ceil(l.resetMs(t) / 1000) };
  }
}
