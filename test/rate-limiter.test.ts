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
  it("bounds requests in flight across holders, and gets them back on release or expiry", () => {
    const state = fresh();
    const holders: Holders = {};
    const limits = { perSecond: 1000 };
    const opts = (holder: string, release = 0) => ({ holder, maxInFlight: 10, release, leaseMs: 60_000 });
    expect(grantWithPermits(state, holders, limits, 8, opts("a"), 0).slots).toHaveLength(8);
    expect(grantWithPermits(state, holders, limits, 8, opts("b"), 0).slots).toHaveLength(2);
    const none = grantWithPermits(state, holders, limits, 8, opts("b"), 1);
    expect(none.slots).toHaveLength(0);
    expect(none.retryAfterMs).toBeGreaterThan(0);
    // a gives back 5 finished requests with its next call: with b asking, its share is 5 of 10
    expect(grantWithPermits(state, holders, limits, 3, opts("a", 5), 2).slots).toHaveLength(2);
    expect(grantWithPermits(state, holders, limits, 8, opts("b"), 3).slots).toHaveLength(3);
    expect(grantWithPermits(state, holders, limits, 8, opts("a"), 4).slots).toHaveLength(0);
    // a stops calling: its permits come back when its lease expires
    expect(grantWithPermits(state, holders, limits, 8, opts("c"), 70_000).slots).toHaveLength(8);
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
