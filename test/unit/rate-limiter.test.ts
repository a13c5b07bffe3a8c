// The limiter's grants, replayed over simulated time against upstream limits written the way
// gateways write them (src/sample/limit-algorithms.ts): token bucket, fixed window, sliding log,
// sliding counter, alone and several at once, with each request sent up to the pool's lateness
// bound after its instant and reaching the upstream up to SPREAD_MS after that.
import { describe, expect, it } from "vitest";
import { grantWithPermits, renewLease, type Holders } from "../../durable-objects/rate-limiter";
import { HORIZON_MS, SPREAD_MS, forget, grant, learnFrom429, marginMs, reportLateness, toleranceOf } from "../../durable-objects/limiter/schedule";
import { initialState } from "../../durable-objects/limiter/state";
import { UpstreamLimits, type LimitAlgorithm } from "../../src/sample/limit-algorithms";
import { durationMs, type RateLimit } from "../../src/upstream/limits";
import { backoffSeconds, classifyStatus, toTaskError, TaskFailure } from "../../src/upstream/classify";

const ALGORITHMS: LimitAlgorithm[] = ["token-bucket", "fixed-window", "sliding-log", "sliding-counter"];

function random(seed: number) {
  return () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** The upstream enforcing `limit`'s windows with one algorithm (a bucket's capacity: the window's requests). */
const upstreamOf = (algorithm: LimitAlgorithm, limit: RateLimit) =>
  new UpstreamLimits(limit.map((w) => ({ algorithm, requests: w.requests, perMs: durationMs(w.per), burst: w.burst })));

/**
 * Callers ask for blocks of tokens at random moments for `seconds`; each granted slot is sent
 * somewhere within the lateness the token pool allows. Returns the upstream's refusals and the
 * requests it admitted.
 */
function replay(limit: RateLimit, algorithm: LimitAlgorithm, seconds: number, seed: number, dropShare = 0) {
  const next = random(seed);
  const state = initialState();
  const start = 1_700_000_000_000 + Math.floor(next() * 1000);
  const late = toleranceOf(marginMs(Math.min(...limit.map((w) => durationMs(w.per)))));
  const arrivals: number[] = [];
  let unspent: number[] = [];
  for (let now = start; now < start + seconds * 1000; now += Math.floor(next() * 300)) {
    // Tokens not spent (dropped late, left over) go back with the next call, as the pool does.
    forget(
      state,
      limit,
      unspent.filter((slot) => slot <= now),
    );
    unspent = unspent.filter((slot) => slot > now);
    const lease = grant(state, limit, 1 + Math.floor(next() * 200), now);
    for (const slot of lease.slots) expect(slot - now).toBeLessThanOrEqual(HORIZON_MS);
    for (const slot of lease.slots) {
      if (next() < dropShare) unspent.push(slot);
      else arrivals.push(slot + next() * late + next() * SPREAD_MS); // spent up to the tolerance late, then on its way
    }
  }
  arrivals.sort((a, b) => a - b);
  const upstream = upstreamOf(algorithm, limit);
  const refused = arrivals.filter((t) => upstream.admit(t) > 0).length;
  return { refused, admitted: arrivals.length - refused, span: (arrivals.at(-1)! - start) / 1000 };
}

const sustained = (limit: RateLimit) => Math.min(...limit.map((w) => (w.requests * 1000) / durationMs(w.per)));

describe("rate limiter windows, against every upstream algorithm", () => {
  const cases: [string, RateLimit][] = [
    ["20 per second", [{ requests: 20, per: "1s" }]],
    ["200 per second", [{ requests: 200, per: "1s" }]],
    [
      "20 per second and 600 per minute",
      [
        { requests: 20, per: "1s" },
        { requests: 600, per: "1m" },
      ],
    ],
    [
      "20 per second and 30 per 3-second 'hour'",
      [
        { requests: 20, per: "1s" },
        { requests: 30, per: "3s" },
      ],
    ],
  ];
  for (const [name, limit] of cases) {
    for (const algorithm of ALGORITHMS) {
      it(`${name} · ${algorithm}: nothing refused over ten simulated minutes, at ≥ 95% of the limit`, () => {
        const { refused, admitted, span } = replay(limit, algorithm, 600, name.length * 31 + algorithm.length);
        expect(refused).toBe(0);
        expect(admitted / span / sustained(limit)).toBeGreaterThan(0.95);
      });
    }
  }

  for (const algorithm of ALGORITHMS) {
    it(`tokens not spent give their budget back, and nothing is refused for it · ${algorithm}`, () => {
      const limit: RateLimit = [
        { requests: 20, per: "1s" },
        { requests: 600, per: "1m" },
      ];
      const { refused, admitted, span } = replay(limit, algorithm, 300, 11, 0.2);
      expect(refused).toBe(0);
      expect(admitted / span / sustained(limit)).toBeGreaterThan(0.95);
    });
  }

  it("grants a window's budget again at once when its tokens come back unspent", () => {
    const limit: RateLimit = [{ requests: 20, per: "1s" }];
    const t0 = Date.UTC(2026, 0, 1, 10, 0, 0, 100);
    const kept = initialState();
    const first = grant(kept, limit, 20, t0);
    expect(first.slots).toHaveLength(20);
    // Nothing more until the first slots leave the window...
    expect(grant(kept, limit, 9, t0 + 100).slots.filter((t) => t < t0 + 1000)).toHaveLength(0);
    // ...unless nine of them were never spent: their budget is granted again now.
    const returned = initialState();
    const slots = grant(returned, limit, 20, t0).slots;
    forget(returned, limit, slots.slice(11));
    const again = grant(returned, limit, 9, t0 + 100);
    expect(again.slots).toHaveLength(9);
    expect(again.slots.every((t) => t < t0 + 1000)).toBe(true);
  });

  it("uses a declared token-bucket burst, and only where declared", () => {
    const state = initialState();
    const burst = grant(state, [{ requests: 10, per: "1s", burst: 40 }], 100, 1_000_000);
    // One kept back for jitter; a burst's slots are a dispatch gap apart (2 ms).
    expect(burst.slots.filter((t) => t <= burst.slots[0]! + 38 * 2).length).toBe(39);
    expect(burst.slots[39]! - burst.slots[38]!).toBeGreaterThan(2); // the 40th waits for the bucket
    const plain = grant(initialState(), [{ requests: 10, per: "1s" }], 100, 1_000_000);
    expect(plain.slots.filter((t) => t < 1_000_000 + 1000).length).toBeLessThanOrEqual(10);
    const run = replay([{ requests: 10, per: "1s", burst: 40 }], "token-bucket", 120, 5);
    expect(run.refused).toBe(0);
  });

  it("spaces a block of tokens so a holder sending one request at a time spends every one within its tolerance", () => {
    // Measured in workerd: a holder sends a request every 1–2 ms; 19 tokens at one instant came
    // up 1 to 29 ms late and the 13 past the tolerance (12.5 ms) were dropped.
    for (const limit of [[{ requests: 20, per: "1s" }], [{ requests: 1000, per: "1s" }]] satisfies RateLimit[]) {
      const lease = grant(initialState(), limit, 40, 1_000_000);
      const sendMs = Math.min(1.5, 1000 / limit[0]!.requests / 2);
      let sent = 0;
      const late = lease.slots.map((slot) => (sent = Math.max(slot, sent + sendMs)) - slot);
      expect(lease.slots.length).toBeGreaterThanOrEqual(20);
      expect(Math.max(...late)).toBeLessThanOrEqual(lease.toleranceMs!);
    }
  });

  it("keeps granting to the edge of a long window far from its limit: a minute's last margin is not idled", () => {
    const limit: RateLimit = [
      { requests: 20, per: "1s" },
      { requests: 600, per: "1m" },
    ];
    const state = initialState();
    const minute = Math.ceil(1_800_000_000_000 / 60_000) * 60_000;
    const slots: number[] = [];
    for (let now = minute - 3_000; now < minute + 2_000; now += 100) slots.push(...grant(state, limit, 2, now).slots);
    const near = slots.filter((s) => s > minute - 2_000 && s < minute + 1_000);
    // Before: nothing in the minute's last 1.2 s (its margin), at 200 of 600.
    expect(Math.max(...near.slice(1).map((s, i) => s - near[i]!))).toBeLessThan(300);
    expect(near.filter((s) => s >= minute - 1_200 && s < minute).length).toBeGreaterThan(15);
  });

  it("waits out a spent long window and says when to come back", () => {
    const state = initialState();
    const limit: RateLimit = [
      { requests: 1000, per: "1s" },
      { requests: 100, per: "1h" },
    ];
    const t0 = Date.UTC(2026, 0, 1, 10, 0, 0);
    expect(grant(state, limit, 150, t0).slots).toHaveLength(100);
    const next = grant(state, limit, 10, t0 + 10);
    expect(next.slots).toHaveLength(0);
    expect(next.retryAfterMs).toBeGreaterThan(59 * 60_000);
    // A sliding counter would still count most of the last hour's 100 at the next hour's start:
    // the budget comes back over the hour, the first of it after the margin (2% of the hour).
    expect(grant(state, limit, 10, t0 + 3_600_000 + 60_000).slots).toHaveLength(0);
    expect(grant(state, limit, 10, t0 + 3_600_000 + 120_000).slots.length).toBeGreaterThan(0);
  });

  it("keeps granting a 1-s window when holders report a second of lateness (a starved isolate)", () => {
    const state = initialState();
    const limit: RateLimit = [
      { requests: 50, per: "1s" },
      { requests: 100_000, per: "1h" },
    ];
    const t0 = Date.UTC(2026, 0, 1, 10, 30, 0);
    reportLateness(state, 1_000, t0);
    const lease = grant(state, limit, 20, t0);
    // The margin widens to a quarter of the second, not past it: slots within the horizon,
    // 50 a second at most in any window of it. (Before: no slot, come back in 49 s.)
    expect(lease.slots.length).toBeGreaterThan(0);
    expect(lease.slots[0]! - t0).toBeLessThan(1_000);
    expect(marginMs(1_000, 1_000)).toBe(250);
  });
});

describe("learning from 429s", () => {
  /**
   * One deployment asking for tokens every 50 ms against a sliding log of 20/s, with another
   * client on the key sending `other(t)` per second. A 429 comes back 20 ms after the request.
   */
  function shared(seconds: number, other: (t: number) => number) {
    const limit: RateLimit = [{ requests: 20, per: "1s" }];
    const state = initialState();
    const upstream = upstreamOf("sliding-log", limit);
    const start = 1_800_000_000_000;
    let otherNext = start;
    const perSecond: { ours: number; refused: number }[] = Array.from({ length: seconds }, () => ({ ours: 0, refused: 0 }));
    let slots: { at: number; seq: number }[] = [];
    for (let now = start; now < start + seconds * 1000; now += 50) {
      if (slots.length === 0) {
        const lease = grant(state, limit, 10, now);
        slots = lease.slots.map((at, i) => ({ at, seq: lease.firstSeq! + i }));
      }
      const due = slots.filter((s) => s.at < now + 50);
      slots = slots.filter((s) => s.at >= now + 50);
      for (const { at: slot, seq } of due) {
        for (; otherNext <= slot; otherNext += 1000 / Math.max(0.001, other(otherNext - start))) if (other(otherNext - start) > 0) upstream.admit(otherNext);
        const second = perSecond[Math.floor((slot - start) / 1000)]!;
        const wait = upstream.admit(slot);
        if (wait === 0) second.ours++;
        else {
          second.refused++;
          learnFrom429(state, limit, slot + 20, Math.max(1000, wait), slot, seq);
          slots = [];
          break;
        }
      }
    }
    return perSecond;
  }

  it("settles at the share another client leaves, with few 429s, and recovers when it stops", () => {
    const seconds = shared(180, (t) => (t < 90_000 ? 10 : 0));
    const sum = (from: number, to: number, k: "ours" | "refused") => seconds.slice(from, to).reduce((n, s) => n + s[k], 0);

    // Settled (after the first 10 s): at ≥ 84% of the 10/s left (one below the share it learns,
    // probing up every 20 s), a 429 every 20 s at most.
    expect(sum(10, 90, "ours") / 80).toBeGreaterThan(8.4);
    expect(sum(10, 90, "refused")).toBeLessThanOrEqual(4);
    // The other client stopped at 90 s: back near 20/s within half a minute.
    expect(sum(120, 180, "ours") / 60).toBeGreaterThan(19);
  });

  it("does not lower the limit twice for slots granted before it learned", () => {
    const limit: RateLimit = [{ requests: 20, per: "1s" }];
    const state = initialState();
    const { slots } = grant(state, limit, 20, 0);
    learnFrom429(state, limit, 100, 0, slots[10], 10);
    const once = state.factor;
    learnFrom429(state, limit, 110, 0, slots[11], 11);
    expect(state.factor).toBe(once);
    expect(once).toBe(0.5);
  });

  it("counts a burst granted at one instant up to the refused token, less one, and learns again from a later 429", () => {
    const limit: RateLimit = [{ requests: 20, per: "1s" }];
    const state = initialState();
    const { slots, firstSeq } = grant(state, limit, 20, 0, 0);
    expect(new Set(slots.slice(0, 15).map((t) => Math.ceil(t / 3))).size).toBeLessThan(15); // the burst shares log buckets (3 ms)
    // The 16th token was refused: 15 of ours were in the window before it, so 15 of 20 are ours
    // (14, one clear of the edge). Counting by log bucket, the burst's own bucket counted none.
    learnFrom429(state, limit, 100, 0, slots[15], firstSeq! + 15);
    expect(state.factor).toBeCloseTo(0.7, 9);
    // Later, a token granted after the lowering is refused with 14 of ours before it: 13 of 20.
    const later = grant(state, limit, 15, 5_000, 0);
    learnFrom429(state, limit, 6_000, 0, later.slots[14], later.firstSeq! + 14);
    expect(state.factor).toBeCloseTo(0.65, 9);
  });
});

describe("in-flight permits", () => {
  it("keeps a renewing holder's permits however long its requests run, and takes a silent one's back when its lease ends", () => {
    const limits: RateLimit = [{ requests: 1000, per: "1s" }];
    const opts = (holder: string) => ({ holder, maxInFlight: 4, release: 0, leaseMs: 15_000 });
    const at = (renew: boolean, t: number) => {
      const state = { ...initialState(), quotaHeaders: false };
      const holders: Holders = {};
      expect(grantWithPermits(state, holders, limits, 4, opts("long"), 0).slots).toHaveLength(4);
      if (renew) for (let r = 5_000; r < t; r += 5_000) expect(renewLease(holders, "long", 15_000, r)).toBe(true);
      return grantWithPermits(state, holders, limits, 4, opts("next"), t).slots.length;
    };
    expect(at(true, 60_000)).toBe(0); // still in flight after a minute: its permits stay
    expect(at(false, 15_000)).toBe(4); // it died: 15 s after its last call they come back
    expect(renewLease({}, "gone", 15_000, 0)).toBe(false);
  });

  it("bounds requests in flight across holders, and gets them back on release or expiry", () => {
    // An upstream known not to state its quota: no probe goes first.
    const state = { ...initialState(), quotaHeaders: false };
    const holders: Holders = {};
    const limits: RateLimit = [{ requests: 1000, per: "1s" }];
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
