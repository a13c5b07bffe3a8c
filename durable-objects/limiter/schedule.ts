// The rate limiter's arithmetic, free of storage so it can be replayed over simulated time.
//
// Tokens are handed out as instants ("slots"), in order, never more than HORIZON_MS ahead. A
// window without a declared burst admits a slot only when both hold:
//   - sliding log: fewer than `requests` slots in the window's length before it (plus a margin),
//     so no rolling or clock-aligned interval of that length holds more than the window allows;
//   - sliding counter: the estimate an upstream counting clock-aligned windows would make
//     (previous window's count × the share of it still in view + this window's count) stays
//     under `requests`, so spending a burst at the end of one window cannot overrun the next.
// A window with a burst is a token bucket (GCRA) of that capacity. Every 429 teaches: the share
// of the limit this deployment got before it (another client uses the key) becomes the
// effective limit, which creeps back to the declared one while no 429 comes. Answers that state
// what remains of a window teach the same before any 429 (limiter/answers.ts); the effective
// limit is the lower of the two.
import { resolveWindows, type RateLimit, type ResolvedWindow } from "../../src/upstream/limits";
import { learnFromAnswers, probeDue, probeSettled, probeWait, quotaFactors, quotaRecheckMs, PROBE_POLL_MS, PROBE_WAIT_MS, type Answer } from "./answers";
import { countAfter, type Lease, type LimiterState, type WindowState } from "./state";

/** How far ahead a lease may schedule tokens. */
export const HORIZON_MS = 1_000;
/** No slot sooner than this after the grant (or the caller's round trip, if longer): the lease's way back must not make it late. */
const LEAD_MS = 10;
const MAX_LEAD_MS = 250;
/** Stay this share of a window's length clear of its edges, for clock and network jitter. */
export const MARGIN = 0.02;
/** The reported lateness widens a window's margin up to this share of it. */
const MAX_MARGIN = 0.25;
/** At least this much, whatever the window: requests reach the upstream with tens of ms of jitter. */
const MIN_MARGIN_MS = 25;
/** How much the delay from a token's spend to the upstream's clock varies (dispatch, network). */
export const SPREAD_MS = 15;
/**
 * Slots granted together are this far apart at least (less for a limit of more than 250 a second:
 * half its interval). A holder sends one request at a time, 1–2 ms each in a busy isolate: 19
 * tokens at one instant came up 1 to 29 ms late, and the 13 past the tolerance were dropped and
 * the first second of a 20/s run sent 6 requests.
 */
const DISPATCH_GAP_MS = 2;
/** A window's log keeps grants in this many buckets of its length (times rounded up). */
const LOG_BUCKETS = 256;
/**
 * After a 429 the learned limit holds for this many units (the shortest window, at most 10 s),
 * then probes upward by 1, 2, 3, 4, 8, 16, … requests of the shortest window, a step a unit: slow
 * to provoke the next 429 while another client holds its share, quick to recover once it stops.
 */
const HOLD_UNITS = 20;
const MAX_UNIT_MS = 10_000;
/** One 429 lowers the effective limit to half at most (injected faults and bursts are not a share). */
const MAX_DROP = 0.5;
const MIN_FACTOR = 0.05;

/** Observed lateness halves in this long without a later report. */
const JITTER_HALF_LIFE_MS = 10_000;

/**
 * How far a window's slots keep clear of its edges: 2% of it, 25 ms at least, and more than the
 * lateness the holders report (a busy isolate sends late; the margin must cover it), but never
 * more than a quarter of the window: a margin as long as the window would leave it no instant to
 * grant (a starved isolate reporting a second of lateness stalled a 1-s window for 50 s).
 */
export const marginMs = (windowMs: number, jitterMs = 0) => Math.max(MIN_MARGIN_MS, windowMs * MARGIN, Math.min(jitterMs * 1.25, windowMs * MAX_MARGIN));

/**
 * How late a token may still be spent: the margin less the spread of the delay after it (half the
 * margin at least), so a late token and a prompt one a window apart still reach the upstream a
 * window apart. The whole margin let the delay's spread through: the sample upstream saw requests
 * arrive 0 to 34 ms after their instants on a loaded machine, and about one run in four of a
 * sliding-log cell had a request arrive inside the window of one sent 1,025 ms before it. A token
 * later than this is dropped and given back. Every token taken reports how late it came up,
 * dropped ones too: a busy isolate's lateness widens the margins (reportLateness), so its requests
 * keep clear of the windows' edges.
 */
export const toleranceOf = (marginMs: number) => Math.max(marginMs / 2, marginMs - SPREAD_MS);

/** The jitter the margins cover at `now`: the largest lateness reported, decaying. */
function jitterAt(state: LimiterState, now: number): number {
  return state.jitterMs * 0.5 ** (Math.max(0, now - state.jitterAt) / JITTER_HALF_LIFE_MS);
}

/** A holder saw its tokens spent up to `lateMs` after their instants. */
export function reportLateness(state: LimiterState, lateMs: number, now: number): void {
  const current = jitterAt(state, now);
  state.jitterMs = Math.max(current, Math.min(lateMs, 1_000));
  state.jitterAt = now;
}

/** The window states for these limits, keeping the state of every window whose spec is unchanged. */
function statesFor(state: LimiterState, windows: ResolvedWindow[]): WindowState[] {
  const bySpec = new Map(state.windows.map((w) => [w.spec, w]));
  state.windows = windows.map((w) => bySpec.get(w.spec) ?? { spec: w.spec, log: [], index: 0, count: 0, prev: 0, ahead: 0, tat: 0 });
  return state.windows;
}

/** The effective share of the declared limit at `now`. */
export function factorAt(state: LimiterState, windows: ResolvedWindow[], now: number): number {
  if (state.factor >= 1) return 1;
  const shortest = windows.reduce((a, b) => (b.ms < a.ms ? b : a));
  const probing = Math.floor((now - state.factorAt) / Math.min(shortest.ms, MAX_UNIT_MS)) - HOLD_UNITS;
  if (probing <= 0) return state.factor;
  const extra = probing <= 4 ? probing : 2 ** Math.min(probing - 2, 30);
  return Math.min(1, state.factor + extra / shortest.requests);
}

const effective = (n: number, factor: number) => Math.max(1, Math.floor(n * factor + 1e-9));

/** The earliest instant ≥ t at which window `w` admits one more slot. */
function earliest(w: ResolvedWindow, s: WindowState, t: number, factor: number, margin: number): number {
  const limit = effective(w.requests, factor);
  if (w.burst !== undefined) {
    const interval = (w.ms / limit) * (1 + MARGIN);
    // One token of the bucket is kept back for jitter; a lowered limit shrinks the burst too.
    const burst = Math.max(1, Math.floor(w.burst * factor) - (w.burst > 1 ? 1 : 0));
    return Math.max(t, Math.ceil(s.tat - (burst - 1) * interval));
  }
  // Sliding log: drop the oldest slots in view until one more fits.
  const span = w.ms + margin;
  const inView = countAfter(s.log, t - span);
  if (inView >= limit) {
    let excess = inView - limit + 1;
    let i = s.log.length - 2;
    while (i >= 2 && s.log[i - 2]! > t - span) i -= 2; // the oldest pair in view
    for (; i < s.log.length; i += 2) {
      excess -= s.log[i + 1]!;
      if (excess <= 0) return s.log[i]! + span + 1;
    }
  }
  // Sliding counter over clock-aligned windows, judged `margin` earlier than t (the previous
  // window weighs more), as an upstream whose clock lags ours would. A slot in the last margin
  // of a window may land in the next one and count there in full: it is granted only while the
  // window, counted again with its lag, would still have room, and the next window starts
  // charged with it (record). A long window far from its limit keeps granting to its edge (a
  // minute's last 1.2 s idled every minute before); a full one leaves its last margin unused.
  const k = Math.floor(t / w.ms);
  const current = s.index === k ? s.count : 0;
  if (t - k * w.ms >= w.ms - margin && (current + 1) * (1 + margin / w.ms) > limit) return (k + 1) * w.ms;
  const previous = s.index === k ? s.prev : s.index === k - 1 ? s.count : 0;
  if (current + 1 > limit) return (k + 1) * w.ms;
  if (previous === 0) return t;
  const frac = (t - k * w.ms) / w.ms;
  const needed = 1 + margin / w.ms - (limit - current) / previous; // previous × (1 − frac + m) + current < limit
  if (frac > needed) return t;
  return needed >= 1 ? (k + 1) * w.ms : Math.floor(k * w.ms + needed * w.ms) + 1;
}

/** The log bucket a time is recorded in (rounded up to the window's bucket). */
function bucketOf(w: ResolvedWindow, t: number): number {
  const q = Math.max(1, Math.floor(w.ms / LOG_BUCKETS));
  return Math.ceil(t / q) * q;
}

function record(w: ResolvedWindow, s: WindowState, t: number, factor: number, margin: number): void {
  const at = bucketOf(w, t);
  if (s.log.length > 0 && s.log[s.log.length - 2] === at) s.log[s.log.length - 1]!++;
  else s.log.push(at, 1);
  const k = Math.floor(t / w.ms);
  if (s.index === k) s.count++;
  else {
    // The window before this one counted its own grants and started charged with the ones its
    // predecessor granted in its last margin.
    const ahead = s.ahead ?? 0;
    s.prev = s.index === k - 1 ? s.count : s.index === k - 2 ? ahead : 0;
    s.count = (s.index === k - 1 ? ahead : 0) + 1;
    s.index = k;
    s.ahead = 0;
  }
  if (t - k * w.ms >= w.ms - margin) s.ahead = (s.ahead ?? 0) + 1;
  if (w.burst !== undefined) s.tat = Math.max(s.tat, t) + (w.ms / effective(w.requests, factor)) * (1 + MARGIN);
}

/**
 * Tokens leased but never spent (dropped for coming up late, cleared by a 429, left over when a
 * task ended) leave the windows, so the budget they held is granted again instead of idling a
 * window's length. Token-bucket windows keep them (their arrival time is not undone): conservative.
 */
export function forget(state: LimiterState, limit: RateLimit, slots: readonly number[]): void {
  const windows = resolveWindows(limit);
  const states = statesFor(state, windows);
  for (const t of slots) probeSettled(state, undefined, t);
  windows.forEach((w, i) => {
    if (w.burst !== undefined) return;
    for (const t of slots) unrecord(w, states[i]!, t);
  });
}

function unrecord(w: ResolvedWindow, s: WindowState, t: number): void {
  const at = bucketOf(w, t);
  for (let i = s.log.length - 2; i >= 0 && s.log[i]! >= at; i -= 2) {
    if (s.log[i] !== at) continue;
    if (--s.log[i + 1]! === 0) s.log.splice(i, 2);
    break;
  }
  const k = Math.floor(t / w.ms);
  if (s.index === k) s.count = Math.max(0, s.count - 1);
  else if (s.index === k + 1) s.prev = Math.max(0, s.prev - 1);
}

/**
 * Forget log entries no future slot (≥ now) can see, nor an answer or a 429 reported up to a
 * window later (at most 10 s): those count our grants in the window before their request.
 */
function prune(w: ResolvedWindow, s: WindowState, now: number, margin: number): void {
  const horizon = now - w.ms - margin - Math.min(w.ms, MAX_UNIT_MS);
  let drop = 0;
  while (drop < s.log.length && s.log[drop]! <= horizon) drop += 2;
  if (drop > 0) s.log.splice(0, drop);
}

/**
 * Grant up to `tokens` slots within every window; mutates `state`. With `probing` (the limiter's
 * calls), a quiet spell's first grant is one token, and nothing more until its answer is back.
 */
export function grant(state: LimiterState, limit: RateLimit, tokens: number, now: number, leadMs = LEAD_MS, probing = false): Lease {
  const lead = Math.min(MAX_LEAD_MS, Math.max(LEAD_MS, leadMs));
  const windows = resolveWindows(limit);
  const states = statesFor(state, windows);
  const waiting = probing ? probeWait(state, now) : 0;
  if (waiting > 0) return { slots: [], retryAfterMs: waiting };
  const probe = probing && probeDue(state, windows, now);
  if (probe) tokens = Math.min(tokens, 1);
  const learned = factorAt(state, windows, now);
  const factors = quotaFactors(state, windows, now).map((f) => Math.min(learned, f));
  const jitter = jitterAt(state, now);
  const margins = windows.map((w) => marginMs(w.ms, jitter));
  windows.forEach((w, i) => prune(w, states[i]!, now, margins[i]!));
  const slots: number[] = [];
  const firstSeq = state.granted;
  let retryAfterMs = 0;
  const gap = Math.min(DISPATCH_GAP_MS, ...windows.map((w, i) => w.ms / effective(w.requests, factors[i]!) / 2));
  for (let n = 0; n < tokens; n++) {
    let t = Math.max(now + lead, state.pausedUntil, state.last + gap);
    for (let moved = true, rounds = 0; moved && rounds < 50; rounds++) {
      moved = false;
      windows.forEach((w, i) => {
        const e = earliest(w, states[i]!, t, factors[i]!, margins[i]!);
        if (e > t) {
          t = e;
          moved = true;
        }
      });
    }
    if (t - now > HORIZON_MS) {
      // Booked a full horizon ahead: come back when half of it can be granted as one block (not
      // for each token as it frees; the caller holds tokens for the time until then anyway).
      retryAfterMs = Math.max(Math.ceil(t - now - HORIZON_MS), HORIZON_MS / 2);
      const recheck = factors.some((f) => f < 1) ? quotaRecheckMs(state, windows, now) : undefined;
      if (recheck !== undefined) retryAfterMs = Math.max(PROBE_POLL_MS, Math.min(retryAfterMs, Math.ceil(recheck)));
      break;
    }
    windows.forEach((w, i) => record(w, states[i]!, t, factors[i]!, margins[i]!));
    state.last = t;
    slots.push(t);
  }
  state.granted = firstSeq + slots.length;
  if (probe && slots.length > 0) state.probe = { seq: firstSeq, at: slots[0]!, until: now + PROBE_WAIT_MS };
  return { slots, retryAfterMs, toleranceMs: toleranceOf(Math.min(...margins)), firstSeq };
}

/** Learn from the answers holders saw (limiter/answers.ts): what another client uses, and the probe's end. */
export function learnFrom(state: LimiterState, limit: RateLimit, answers: readonly Answer[]): void {
  const windows = resolveWindows(limit);
  statesFor(state, windows);
  learnFromAnswers(state, windows, answers);
}

/**
 * The upstream answered 429 to the request spent at `slot` (the `seq`th token granted): pause
 * until it says to come back (one second when it does not say), and take as the effective limit
 * the share this deployment had of its fullest window before that request — the grants in the
 * window's length up to it, in grant order (a burst granted at one instant counts up to the
 * refused token and no further), less one to stay clear of the edge. Never more than halving it
 * at once (an injected fault or a burst is not a share). Exactly the share, with a drop of one
 * request whenever a learned share did not hold, measured more 429s (42 against 30 over the
 * matrix's shared cells) for the same cells on target.
 */
export function learnFrom429(
  state: LimiterState,
  limit: RateLimit,
  now: number,
  retryAfterMs: number | undefined,
  slot: number | undefined,
  seq?: number,
): void {
  state.pausedUntil = Math.max(state.pausedUntil, now + (retryAfterMs ?? 1000));
  probeSettled(state, seq, slot);
  const windows = resolveWindows(limit);
  const states = statesFor(state, windows);
  const at = slot ?? now;
  if (at <= state.learnedThrough) return; // granted before the last lowering: already counted
  const current = factorAt(state, windows, now);
  const learned = windows.map((w, i) => {
    const log = states[i]!.log;
    // Without a sequence number: the grants before the refused one's log bucket.
    const before =
      seq !== undefined && seq < state.granted
        ? countAfter(log, at - w.ms) - (state.granted - seq)
        : countAfter(log, at - w.ms) - countAfter(log, bucketOf(w, at) - 1);
    return Math.max(0, before - 1) / w.requests;
  });
  const lowered = Math.max(...learned);
  state.factor = Math.max(MIN_FACTOR, Math.min(current, Math.max(lowered, current * MAX_DROP)));
  state.factorAt = now;
  state.learnedThrough = state.last;
}
