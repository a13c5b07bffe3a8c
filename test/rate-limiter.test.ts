// The limiter's grants, replayed over simulated time against the upstream's own admission rule.
import { describe, expect, it } from "vitest";
import { HORIZON_MS, grant, grantWithPermits, penalize, type Holders } from "../durable-objects/rate-limiter";
import { backoffSeconds, classifyStatus, toTaskError, TaskFailure } from "../src/upstream/classify";

const fresh = () => ({ tat: 0, hourStart: 0, hourUsed: 0, pausedUntil: 0, penalty: 1, penaltyAt: 0 });

/** The sample upstream's rule: GCRA per second with burst, plus a fixed UTC-hour budget. */
function upstream(perSecond: number, burst: number, perHour: number) {
  let tat = 0;
  const hours = new Map<number, number>();
  return (t: number): boolean => {
    const hour = Math.floor(t / 3_600_000);
    if ((hours.get(hour) ?? 0) >= perHour) return false;
    const interval = 1000 / perSecond;
    const tolerance = (burst - 1) * interval;
    const next = Math.max(tat, t);
    if (next - tolerance > t + 1e-6) return false;
    tat = next + interval;
    hours.set(hour, (hours.get(hour) ?? 0) + 1);
    return true;
  };
}

describe("rate limiter grants", () => {
  it("never grants beyond the per-second bucket, over ten simulated minutes of bursty demand", () => {
    const limits = { perSecond: 50, burst: 50, perHour: 1_000_000 };
    const state = fresh();
    const admit = upstream(50, 50, 1_000_000);
    const slots: number[] = [];
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let now = 1_700_000_000_000; now < 1_700_000_600_000; now += Math.floor(random() * 400)) {
      const lease = grant(state, limits, 1 + Math.floor(random() * 80), now);
      for (const s of lease.slots) expect(s - now).toBeLessThanOrEqual(HORIZON_MS);
      slots.push(...lease.slots);
    }
    slots.sort((a, b) => a - b);
    expect(slots.every((t) => admit(t))).toBe(true);
    const seconds = (slots.at(-1)! - slots[0]!) / 1000;
    // Close to the limit: at least 95% of 50/s on average.
    expect(slots.length / seconds).toBeGreaterThan(47.5);
  });

  it("stops at the hourly budget and says when the next hour starts", () => {
    const state = fresh();
    const start = Date.UTC(2026, 0, 1, 10, 59, 59);
    const lease = grant(state, { perSecond: 1000, perHour: 100 }, 150, start - 58 * 60_000);
    expect(lease.slots).toHaveLength(100);
    const next = grant(state, { perSecond: 1000, perHour: 100 }, 10, start - 58 * 60_000 + 10);
    expect(next.slots).toHaveLength(0);
    expect(next.retryAfterMs).toBeGreaterThan(57 * 60_000);
  });

  it("pauses for Retry-After after a 429 and halves the rate, then recovers", () => {
    const state = fresh();
    const now = 1_000_000;
    penalize(state, now, 2_000);
    expect(grant(state, { perSecond: 10 }, 5, now).slots).toHaveLength(0);
    const after = grant(state, { perSecond: 10 }, 10, now + 2_000);
    expect(after.slots[0]).toBeGreaterThanOrEqual(now + 2_000);
    expect(after.slots.length).toBeLessThan(10);
    const gap = after.slots.at(-1)! - after.slots.at(-2)!;
    expect(gap).toBeGreaterThan(150); // ~5/s instead of 10/s once the (halved) burst is spent
    const later = fresh();
    penalize(later, 0, undefined);
    const recovered = grant(later, { perSecond: 10, burst: 1 }, 3, 60_000);
    expect(recovered.slots[1]! - recovered.slots[0]!).toBeLessThan(110);
  });
});

describe("in-flight permits", () => {
  const limits = { perSecond: 1000 };
  const opts = (holder: string, want: number, release = 0) => ({ holder, maxInFlight: 10, release, want, leaseMs: 60_000 });

  it("lends permits as a count held across calls, within the bound, and takes them back on release or expiry", () => {
    const state = fresh();
    const holders: Holders = {};
    const a = grantWithPermits(state, holders, limits, 50, opts("a", 8), 0);
    expect(a.permits).toBe(8);
    // Tokens are the rate's business, not the permits': a block of 50 within the horizon.
    expect(a.slots).toHaveLength(50);
    // a keeps its 8 while it calls for more tokens: no permit is spent per token.
    expect(grantWithPermits(state, holders, limits, 50, opts("a", 8), 10).permits).toBe(8);
    const b = grantWithPermits(state, holders, limits, 5, opts("b", 8), 20);
    expect(b.permits).toBe(2); // what is left of 10
    expect(b.share).toBe(5); // two holders want permits: 5 each
    const c = grantWithPermits(state, holders, limits, 5, opts("c", 4), 30);
    expect(c).toMatchObject({ slots: [], atConcurrency: true, permits: 0 });
    expect(c.retryAfterMs).toBeGreaterThan(0);
    // a gives back what is above its share (4 of 10 with three wanting); c gets them.
    expect(grantWithPermits(state, holders, limits, 0, opts("a", 8, 4), 40).share).toBe(4);
    expect(grantWithPermits(state, holders, limits, 5, opts("c", 4), 50).permits).toBe(4);
    expect(Object.values(holders).reduce((n, h) => n + h.permits, 0)).toBeLessThanOrEqual(10);
    // a and b stop calling: their permits come back when their leases expire.
    expect(grantWithPermits(state, holders, limits, 5, opts("d", 10), 70_000).permits).toBe(10);
  });

  it("never lends more than the bound, whatever the holders ask and give back", () => {
    const state = fresh();
    const holders: Holders = {};
    let seed = 11;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const held = new Map<string, number>();
    for (let now = 0; now < 20_000; now += 7) {
      const holder = `h${Math.floor(random() * 6)}`;
      const mine = held.get(holder) ?? 0;
      const release = Math.floor(random() * (mine + 1));
      const lease = grantWithPermits(state, holders, limits, 3, opts(holder, 1 + Math.floor(random() * 10), release), now);
      held.set(holder, lease.permits);
      expect(Object.values(holders).reduce((n, h) => n + h.permits, 0)).toBeLessThanOrEqual(10);
    }
  });
});

describe("failure classes", () => {
  it.each([
    [429, "retryable"],
    [500, "retryable"],
    [503, "retryable"],
    [504, "retryable"],
    [408, "retryable"],
    [404, "permanent"],
    [410, "permanent"],
    [400, "permanent"],
    [401, "permanent"],
  ] as const)("HTTP %i is %s", (status, expected) => {
    expect(classifyStatus(status)).toBe(expected);
  });

  it("classifies timeouts and unparsable bodies as retryable", () => {
    expect(toTaskError(new DOMException("t", "TimeoutError")).class).toBe("retryable");
    expect(toTaskError(new SyntaxError("Unexpected end of JSON input"))).toMatchObject({ type: "unparsable_body", class: "retryable" });
    expect(toTaskError(new TaskFailure({ type: "gone", message: "x", class: "permanent" })).class).toBe("permanent");
  });

  it("backs off exponentially with full jitter", () => {
    expect(backoffSeconds(1, 1, 300, () => 0.999)).toBe(1);
    expect(backoffSeconds(4, 1, 300, () => 0.999)).toBe(8);
    expect(backoffSeconds(20, 1, 300, () => 0.999)).toBe(300);
    expect(backoffSeconds(6, 1, 300, () => 0)).toBe(1);
  });
});
