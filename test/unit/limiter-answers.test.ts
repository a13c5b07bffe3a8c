// Learning another client's share from what the upstream's answers say remains, before any 429:
// the header parser against each way real APIs state a quota, and the limiter against upstreams
// written the way gateways write them (src/sample/limit-algorithms.ts), whose headers come back
// a latency after each request.
import { describe, expect, it } from "vitest";
import { grantWithPermits, type Holders } from "../../durable-objects/rate-limiter";
import { PROBE_POLL_MS, PROBE_WAIT_MS, type Answer } from "../../durable-objects/limiter/answers";
import { learnFrom429 } from "../../durable-objects/limiter/schedule";
import { initialState } from "../../durable-objects/limiter/state";
import { UpstreamLimits, type LimitAlgorithm } from "../../src/sample/limit-algorithms";
import { durationMs, type RateLimit } from "../../src/upstream/limits";
import { quotaFromHeaders } from "../../src/upstream/quota-headers";

describe("the quota an answer states", () => {
  const quota = (h: Record<string, string>) => quotaFromHeaders(new Headers(h));

  it("reads X-RateLimit-*, RateLimit-* and both IETF forms", () => {
    expect(quota({ "x-ratelimit-limit": "20", "x-ratelimit-remaining": "7", "x-ratelimit-reset": "1" })).toEqual({ limit: 20, remaining: 7 });
    expect(quota({ "ratelimit-limit": "100", "ratelimit-remaining": "0" })).toEqual({ limit: 100, remaining: 0 });
    expect(quota({ ratelimit: "limit=20, remaining=9, reset=1" })).toEqual({ limit: 20, remaining: 9 });
    expect(quota({ ratelimit: '"default";r=9;t=1', "ratelimit-policy": '"default";q=20;w=1' })).toEqual({ limit: 20, remaining: 9 });
    expect(quota({ ratelimit: "remaining=3", "ratelimit-policy": "50;w=5" })).toEqual({ limit: 50, remaining: 3 });
    expect(quota({ "x-ratelimit-remaining": "4" })).toEqual({ remaining: 4, limit: undefined });
  });

  it("states nothing for answers without a count, or with one that is not a count", () => {
    expect(quota({})).toBeUndefined();
    expect(quota({ "retry-after": "1" })).toBeUndefined();
    expect(quota({ "x-ratelimit-remaining": "-1" })).toBeUndefined();
    expect(quota({ "x-ratelimit-remaining": "lots" })).toBeUndefined();
    expect(quota({ ratelimit: "reset=5" })).toBeUndefined();
  });
});

/**
 * One deployment leasing blocks of tokens against an upstream of 20 per second, which another
 * client on the key uses at `other(t)` per second (from 5 s before the deployment's first request). Each answer (with the upstream's headers, as
 * the sample upstream states them) comes back `latency` ms after its request and reaches the
 * limiter with the holder's next call; a 429 teaches as the pool reports it.
 */
function sharedWithHeaders(
  algorithm: LimitAlgorithm,
  seconds: number,
  other: (t: number) => number,
  headers = true,
  limit: RateLimit = [{ requests: 20, per: "1s" }],
) {
  const upstream = new UpstreamLimits(limit.map((w) => ({ algorithm, requests: w.requests, perMs: durationMs(w.per) })));
  const state = initialState();
  const holders: Holders = {};
  const latency = 50;
  const start = 1_800_000_000_000;
  let otherNext = start - 5_000; // the other client was there first
  const perSecond = Array.from({ length: seconds }, () => ({ ours: 0, refused: 0 }));
  let slots: { at: number; seq: number }[] = [];
  const coming: (Answer & { back: number })[] = [];
  let finished = 0;
  let askAt = start;
  for (let now = start; now < start + seconds * 1000; now += 5) {
    if (slots.length === 0 && now >= askAt) {
      const answers = coming.filter((a) => a.back <= now);
      coming.splice(0, answers.length);
      const lease = grantWithPermits(state, holders, limit, 10, { holder: "h", maxInFlight: 100, release: finished, leaseMs: 60_000, answers }, now);
      finished = 0;
      slots = lease.slots.map((at, i) => ({ at, seq: lease.firstSeq! + i }));
      if (slots.length === 0) askAt = now + lease.retryAfterMs;
    }
    while (slots.length > 0 && slots[0]!.at <= now) {
      const { at, seq } = slots.shift()!;
      for (; otherNext <= at; otherNext += 1000 / Math.max(0.001, other(otherNext - start))) if (other(otherNext - start) > 0) upstream.admit(otherNext);
      const wait = upstream.admit(at);
      const h = upstream.headers(at)!;
      const second = perSecond[Math.floor((at - start) / 1000)]!;
      coming.push({ seq, at, status: wait === 0 ? 200 : 429, back: at + latency, ...(headers ? { quota: { limit: h.limit, remaining: h.remaining } } : {}) });
      finished++;
      if (wait === 0) second.ours++;
      else {
        second.refused++;
        learnFrom429(state, limit, at + latency, Math.max(1000, wait), at, seq);
        finished += slots.length;
        slots = [];
      }
    }
  }
  return perSecond;
}

describe("learning another client's share from the answers", () => {
  const sum = (s: { ours: number; refused: number }[], from: number, to: number, k: "ours" | "refused") => s.slice(from, to).reduce((n, x) => n + x[k], 0);
  // Per algorithm, over a minute (the other client at 10/s for the first 30 s): the 429s with the
  // answers' headers at most, the least share of the 10/s left, and the least rate after it stopped.
  const bounds: Record<LimitAlgorithm, { refused: number; share: number; after: number }> = {
    "sliding-log": { refused: 0, share: 8.5, after: 18 },
    "token-bucket": { refused: 0, share: 9.5, after: 18 },
    "fixed-window": { refused: 1, share: 8.3, after: 18 },
    "sliding-counter": { refused: 2, share: 4.5, after: 16 },
  };
  for (const [algorithm, bound] of Object.entries(bounds) as [LimitAlgorithm, (typeof bounds)[LimitAlgorithm]][]) {
    it(`${algorithm}: fewer 429s than without the headers, and back near the whole limit within seconds of the other client stopping`, () => {
      const other = (t: number) => (t < 30_000 ? 10 : 0);
      const seen = sharedWithHeaders(algorithm, 60, other);
      const blind = sharedWithHeaders(algorithm, 60, other, false);
      expect(sum(seen, 0, 60, "refused")).toBeLessThanOrEqual(bound.refused);
      expect(sum(seen, 0, 60, "refused")).toBeLessThan(sum(blind, 0, 60, "refused"));
      expect(sum(seen, 2, 30, "ours") / 28).toBeGreaterThan(bound.share);
      // The other client stopped at 30 s: the answers show it within two windows; a 429's lesson
      // takes half a minute to unlearn.
      expect(sum(seen, 32, 60, "ours") / 28).toBeGreaterThan(bound.after);
      expect(sum(seen, 32, 60, "ours")).toBeGreaterThan(sum(blind, 32, 60, "ours"));
    });
  }

  /**
   * A limiter of 20 a second and `long`, asked for tokens every 50 ms over `seconds`; each call
   * brings the answer to the latest token, stating the tightest window as the sample upstream
   * does: another client has used `others[0]` of the second and `others[1]` of the long window.
   */
  function statingTightest(long: { requests: number; per: "5s" | "1m"; ms: number }, others: [number, number], seconds: number) {
    const limit: RateLimit = [{ requests: 20, per: "1s" }, { requests: long.requests, per: long.per }];
    const state = initialState();
    const holders: Holders = {};
    const granted: { at: number; seq: number }[] = [];
    const within = (ms: number, at: number) => granted.filter((g) => g.at > at - ms && g.at <= at).length;
    for (let now = 0; now < seconds * 1_000; now += 50) {
      const last = granted.at(-1);
      const answers: Answer[] = [];
      if (last) {
        const second = 20 - others[0] - within(1_000, last.at);
        const longer = long.requests - others[1] - within(long.ms, last.at);
        const quota = second <= longer ? { limit: 20, remaining: second } : { limit: long.requests, remaining: longer };
        answers.push({ seq: last.seq, at: last.at, status: 200, quota });
      }
      const lease = grantWithPermits(state, holders, limit, 60, { holder: "h", maxInFlight: 100, release: 0, leaseMs: 60_000, answers }, now);
      lease.slots.forEach((at, i) => granted.push({ at, seq: lease.firstSeq! + i }));
    }
    return granted.map((g) => g.at);
  }

  it("holds a window the answers have not stated to the other client's rate in a shorter one", () => {
    // The second is stated first: another client took 5 of its 20. Kept up for 5 s, that rate is
    // 25 of the 5-s window's 50: 24 are ours (one clear of the edge), where the second's share
    // alone (14 of 20) would allow 35 there before the 5-s window is the tightest and says so.
    const granted = statingTightest({ requests: 50, per: "5s", ms: 5_000 }, [5, 25], 3);
    expect(granted.filter((t) => t < granted[0]! + 1_000)).toHaveLength(14);
    expect(granted.filter((t) => t < granted[0]! + 3_000)).toHaveLength(24);
  });

  it("never holds a long window to less than the stated answers leave it (no stall on a rate magnified 60 times)", () => {
    // The second's answers show another client at 10 of 20; kept up for a minute that is the
    // whole 600, yet the minute, never the tightest, always had more left than the second.
    const granted = statingTightest({ requests: 600, per: "1m", ms: 60_000 }, [10, 0], 10);
    expect(granted.length).toBeGreaterThanOrEqual(85); // 9 a second after the first
  });

  it("a caller held back by a learned share comes back when that share leaves view, not a window's length later", () => {
    // The second stated as full (another client's 19 and our 1): the minute, held to what that
    // answer leaves it, has no room until its first request is a minute old. The answer leaves
    // view in two seconds, and the caller asks again by then.
    const limit: RateLimit = [{ requests: 20, per: "1s" }, { requests: 600, per: "1m" }];
    const state = initialState();
    const holders: Holders = {};
    const ask = (now: number, answers: Answer[] = []) =>
      grantWithPermits(state, holders, limit, 10, { holder: "h", maxInFlight: 100, release: 0, leaseMs: 60_000, answers }, now);
    const probe = ask(0);
    const held = ask(60, [{ seq: probe.firstSeq!, at: probe.slots[0]!, status: 200, quota: { limit: 20, remaining: 0 } }]);
    expect(held.slots).toHaveLength(0);
    expect(held.retryAfterMs).toBeGreaterThan(0);
    expect(held.retryAfterMs).toBeLessThanOrEqual(2_000);
  });

  /** A fresh limiter of 20 per second, and one holder asking it for 10 tokens with the answers it saw. */
  function limiter() {
    const limit: RateLimit = [{ requests: 20, per: "1s" }];
    const state = initialState();
    const holders: Holders = {};
    const ask = (now: number, answers: Answer[] = []) =>
      grantWithPermits(state, holders, limit, 10, { holder: "h", maxInFlight: 100, release: 0, leaseMs: 60_000, answers }, now);
    return { state, ask };
  }

  it("probes after a quiet spell: one request, and the rest only once its answer is back (or after PROBE_WAIT_MS)", () => {
    const { ask } = limiter();
    const probe = ask(0);
    expect(probe.slots).toHaveLength(1);
    expect(ask(20)).toMatchObject({ slots: [], retryAfterMs: PROBE_POLL_MS });
    // Its answer: 20 − 9 remaining = 11 used, 1 of them ours: another client has used 10.
    const after = ask(60, [{ seq: probe.firstSeq!, at: probe.slots[0]!, status: 200, quota: { limit: 20, remaining: 9 } }]);
    // 9 of 20 are ours (one clear of the edge): 8 more in the probe's window.
    expect(after.slots.filter((t) => t < probe.slots[0]! + 1_000)).toHaveLength(8);
    // A quiet spell later, another probe; this one never answers: the others go after PROBE_WAIT_MS,
    // and an upstream that slow is not probed again (waiting costs more than it spares).
    expect(ask(5_000).slots).toHaveLength(1);
    expect(ask(5_000 + PROBE_WAIT_MS - 1).slots).toHaveLength(0);
    expect(ask(5_000 + PROBE_WAIT_MS).slots.length).toBeGreaterThan(1);
    expect(ask(20_000).slots.length).toBeGreaterThan(1);
  });

  it("does not probe an upstream whose answers state no quota", () => {
    const { state, ask } = limiter();
    const probe = ask(0);
    expect(ask(60, [{ seq: probe.firstSeq!, at: probe.slots[0]!, status: 200 }]).slots).toHaveLength(10);
    expect(state.quotaHeaders).toBe(false);
    expect(ask(10_000).slots).toHaveLength(10);
  });
});
