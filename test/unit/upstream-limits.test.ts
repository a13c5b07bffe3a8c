// The pieces a limit is made of: durations, the upstream's headers, and the upstream algorithms
// the sample enforces (each refuses exactly what its rule says, so it can judge sluice).
import { describe, expect, it } from "vitest";
import { UpstreamLimits, upstreamLimit } from "../../src/sample/limit-algorithms";
import { durationMs, sustainedPerSecond } from "../../src/upstream/limits";
import { MAX_WAIT_MS, waitFromHeaders } from "../../src/upstream/retry-after";

describe("durations", () => {
  it.each([
    ["250ms", 250],
    ["1s", 1_000],
    ["1.5s", 1_500],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["1d", 86_400_000],
  ])("%s is %i ms", (d, ms) => expect(durationMs(d)).toBe(ms));

  it.each(["1", "1 s", "s", "-1s", "1w"])("%s is refused", (d) => expect(() => durationMs(d)).toThrow(/not a duration/));

  it("the sustained rate is the tightest window's", () => {
    expect(
      sustainedPerSecond([
        { requests: 200, per: "1s" },
        { requests: 1000, per: "1h" },
      ]),
    ).toBeCloseTo(1000 / 3600);
  });
});

describe("how long an upstream asks us to wait", () => {
  const now = Date.UTC(2026, 10, 30, 12, 0, 0);
  const wait = (h: Record<string, string>) => waitFromHeaders(new Headers(h), now);
  it("reads Retry-After in seconds and as an HTTP date", () => {
    expect(wait({ "retry-after": "3" })).toBe(3_000);
    expect(wait({ "retry-after": new Date(now + 7_000).toUTCString() })).toBe(7_000);
    expect(wait({ "retry-after": new Date(now - 7_000).toUTCString() })).toBe(0);
  });
  it("reads X-RateLimit-Reset and RateLimit-Reset as seconds or an epoch time, when the quota is spent", () => {
    expect(wait({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": "12" })).toBe(12_000);
    expect(wait({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(now / 1000 + 30) })).toBe(30_000);
    expect(wait({ "ratelimit-remaining": "0", "ratelimit-reset": "4" })).toBe(4_000);
    expect(wait({ "x-ratelimit-remaining": "17", "x-ratelimit-reset": "3000" })).toBeUndefined();
  });
  it("reads an epoch time in milliseconds as one, and asks for a day at most", () => {
    expect(wait({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(now + 2_500) })).toBe(2_500);
    expect(wait({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(now / 1000 + 2 * 86_400) })).toBe(MAX_WAIT_MS);
    expect(wait({ "retry-after": String(365 * 86_400) })).toBe(MAX_WAIT_MS);
    expect(wait({ "retry-after": new Date(now + 40 * 86_400_000).toUTCString() })).toBe(MAX_WAIT_MS);
    expect(wait({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": "86399" })).toBe(86_399_000);
  });
  it("reads the IETF RateLimit field in both drafts' forms", () => {
    expect(wait({ ratelimit: "limit=10, remaining=0, reset=5" })).toBe(5_000);
    expect(wait({ ratelimit: '"default";r=0;t=9' })).toBe(9_000);
    expect(wait({ ratelimit: '"default";r=3;t=9' })).toBeUndefined();
  });
  it("prefers Retry-After to a reset, and says nothing when nothing is said", () => {
    expect(wait({ "retry-after": "1", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "3600" })).toBe(1_000);
    expect(wait({})).toBeUndefined();
  });
});

describe("the sample upstream's limit algorithms", () => {
  const admitted = (algorithm: Parameters<typeof upstreamLimit>[0]["algorithm"], times: number[], burst?: number) => {
    const limits = new UpstreamLimits([{ algorithm, requests: 3, perMs: 1000, burst }]);
    return times.map((t) => limits.admit(t) === 0);
  };
  it("token bucket: a full bucket, then its refill rate", () => {
    expect(admitted("token-bucket", [0, 0, 0, 0, 334])).toEqual([true, true, true, false, true]);
    expect(admitted("token-bucket", [0, 0, 0, 0, 0], 5)).toEqual([true, true, true, true, true]);
  });
  it("fixed window: counts reset at each clock-aligned boundary, so a boundary allows twice the limit", () => {
    expect(admitted("fixed-window", [900, 950, 990, 995, 1000, 1001, 1002, 1003])).toEqual([true, true, true, false, true, true, true, false]);
  });
  it("sliding log: never more than the limit in any rolling window", () => {
    expect(admitted("sliding-log", [900, 950, 990, 1000, 1899, 1900, 1950])).toEqual([true, true, true, false, false, true, true]);
  });
  it("sliding counter: the previous window weighs by the share still in view", () => {
    // 3 in [0, 1000); at 1500 the estimate is 3 × 0.5 + 0 = 1.5 → admitted, then 2.5 → admitted, then 3.5 → refused.
    expect(admitted("sliding-counter", [100, 200, 300, 1500, 1500, 1500])).toEqual([true, true, true, true, true, false]);
  });
  it("several limits: admitted only when all admit, and a refusal counts against none", () => {
    const limits = new UpstreamLimits([
      { algorithm: "sliding-log", requests: 2, perMs: 100 },
      { algorithm: "fixed-window", requests: 3, perMs: 1000 },
    ]);
    expect([0, 10, 20, 150, 160, 300].map((t) => limits.admit(t) === 0)).toEqual([true, true, false, true, false, false]);
  });
});
