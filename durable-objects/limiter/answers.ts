// What the upstream's answers teach the limiter, before any 429: an upstream that states what
// remains of its limit (`X-RateLimit-Remaining`, the IETF `RateLimit` field) tells how much of the
// window another client on the same key has used. After each answer, the window held
// `limit − remaining` requests; the limiter knows how many of them were its own grants, so the
// rest are the other client's. The effective limit becomes what the other client leaves, less one,
// and rises again as soon as the answers show it taking less.
//
// A first request after a quiet spell goes alone (a probe): until its answer comes back, nobody
// knows what another client has used meanwhile, and a block of tokens spent at once would meet a
// window someone else half filled. An upstream whose answers state no quota, or that left a probe
// unanswered for PROBE_WAIT_MS, is not probed again.
import type { Quota } from "../../src/upstream/quota-headers";
import type { ResolvedWindow } from "../../src/upstream/limits";
import { countAfter, type LimiterState, type WindowState } from "./state";

/** What a holder saw of one answer to a request it spent a token on. */
export interface Answer {
  /** The token's sequence number and instant. */
  seq: number;
  at: number;
  status: number;
  /** What the answer said remains of the limit, if it said. */
  quota?: Quota;
}

/** A holder reports at most this many answers a call (the latest: the learning needs the last window's). */
export const MAX_ANSWERS = 32;
/** The others wait this long for a probe's answer at most (its request may hang or its holder go). */
export const PROBE_WAIT_MS = 2_000;
/** While a probe is out, callers ask again this often. */
export const PROBE_POLL_MS = 50;

/** The window an answer's quota speaks of: the one with its stated limit, or the only window. */
function windowOf(windows: ResolvedWindow[], quota: Quota): number {
  if (quota.limit !== undefined) return windows.findIndex((w) => w.requests === quota.limit);
  return windows.length === 1 ? 0 : -1;
}

/**
 * Answers count for two window lengths: an upstream counting clock-aligned windows shows only
 * part of the other client's share early in a window, so the previous window's whole count stays
 * in view for one more. (Over one length, a simulated fixed window refused twice as often.)
 */
const VIEW_WINDOWS = 2;

/**
 * Keep the largest share another client used in view, as a deque of [time, requests] pairs with
 * falling counts: the first pair in view holds the largest.
 */
function noteOthers(s: WindowState, w: ResolvedWindow, at: number, others: number): void {
  const seen = (s.others ??= []);
  // Holders report in their own order: an answer older than the latest kept stays in view as long.
  const t = Math.max(at, seen.length > 0 ? seen[seen.length - 2]! : at);
  while (seen.length > 0 && seen[seen.length - 1]! <= others) seen.splice(-2, 2);
  seen.push(t, others);
  while (seen.length > 0 && seen[0]! <= t - VIEW_WINDOWS * w.ms) seen.splice(0, 2);
}

/** The most another client used in window `w` among the answers still in view at `now`. */
function othersAt(seen: number[] | undefined, w: ResolvedWindow, now: number): number | undefined {
  if (!seen) return undefined;
  for (let i = 0; i < seen.length; i += 2) if (seen[i]! > now - VIEW_WINDOWS * w.ms) return seen[i + 1];
  return undefined;
}

/** Learn from the answers a holder saw; mutates `state` (its windows must be `windows`' states). */
export function learnFromAnswers(state: LimiterState, windows: ResolvedWindow[], answers: readonly Answer[]): void {
  for (const a of answers.slice(-MAX_ANSWERS)) {
    if (state.probe && a.seq >= state.probe.seq) delete state.probe;
    if (a.quota === undefined) {
      // A success that states no quota: this upstream does not, so it is not probed again.
      if (a.status >= 200 && a.status < 300 && state.quotaHeaders === undefined) state.quotaHeaders = false;
      continue;
    }
    state.quotaHeaders = true;
    const i = windowOf(windows, a.quota);
    const w = windows[i];
    if (w === undefined || w.burst !== undefined) continue;
    // Our grants in the window up to this one (the later ones follow it in the log), against all
    // the upstream counted: the difference is another client's.
    const ours = countAfter(state.windows[i]!.log, a.at - w.ms) - Math.max(0, state.granted - a.seq - 1);
    const others = Math.max(0, w.requests - a.quota.remaining - ours);
    noteOthers(state.windows[i]!, w, a.at, others);
    // Stated as the tightest, the window left no more than any longer one: each longer one had at
    // least `remaining` left, which bounds what another client can have used of it.
    windows.forEach((long, j) => {
      if (long.ms <= w.ms || long.burst !== undefined) return;
      const s = state.windows[j]!;
      if (s.bound && s.bound[0] > a.at) return;
      const oursLong = countAfter(s.log, a.at - long.ms) - Math.max(0, state.granted - a.seq - 1);
      s.bound = [a.at, Math.max(0, long.requests - a.quota!.remaining - oursLong)];
    });
  }
}

/**
 * The share of each window's declared limit the answers in view leave us: what the other client
 * used, less one request clear of the edge (1 when they show no one else). Without that one
 * request the matrix's shared-headers cells came closer to the share but refused 6 requests in 10
 * cells, one against a sliding log, where with it they refuse 3 in 12.
 *
 * An upstream with several windows states one at a time (the sample upstream and most real ones:
 * the one nearest its limit). A window no answer in view spoke of is held to the other client's
 * rate in the shorter windows that were stated, kept up for its length: a second's answers that
 * show another client taking 5 of 20 leave 25 of a 5-second window of 50, not 35. (One global
 * share from the second's answers made the matrix's 5-second 'hour' cells refuse 1-3 requests
 * each, until that window became the tightest and said so.) A rate kept up for a long window
 * magnifies any error in it (60× for a minute: a sliding counter's weighted count, read as 10 of
 * 20, held a minute of 600 to one request and a run of 200 took 385 s where 14 s would do), so it
 * never claims more than the latest stated answer allows: the longer window had at least as much
 * left as the one stated as the tightest.
 */
export function quotaFactors(state: LimiterState, windows: ResolvedWindow[], now: number): number[] {
  const stated = windows.map((w, i) => othersAt(state.windows[i]?.others, w, now));
  return windows.map((w, i) => {
    let others = stated[i];
    if (others === undefined) {
      windows.forEach((shorter, j) => {
        const o = stated[j];
        if (o !== undefined && shorter.ms < w.ms) others = Math.max(others ?? 0, (o * w.ms) / shorter.ms);
      });
      const bound = state.windows[i]?.bound;
      // Held to the bound, the window keeps no request clear of its edge: the bound is what the
      // upstream stated was left, and the next request's answer is how to learn more.
      if (others !== undefined && bound) others = Math.min(others, bound[1] - 1);
    }
    return others !== undefined && others > 0 ? (w.requests - others - 1) / w.requests : 1;
  });
}

/**
 * How long until the largest share in view of some window leaves view (and the share may rise),
 * or undefined when the answers show no other client. A caller held back by a learned share comes
 * back by then, not at the slot that share put a window's length away (a minute's, once: 61 s
 * idle, though the next answers would have shown the minute far from full).
 */
export function quotaRecheckMs(state: LimiterState, windows: ResolvedWindow[], now: number): number | undefined {
  let soonest: number | undefined;
  windows.forEach((w, i) => {
    const seen = state.windows[i]?.others;
    if (!seen) return;
    for (let k = 0; k < seen.length; k += 2) {
      const expires = seen[k]! + VIEW_WINDOWS * w.ms;
      if (expires <= now) continue;
      if (seen[k + 1]! > 0) soonest = Math.min(soonest ?? Infinity, expires - now);
      break;
    }
  });
  return soonest;
}

/**
 * Whether the next grant is a probe: the upstream may state its quota (it did, or nobody has
 * seen an answer yet), it answered a probe in time before, and nothing was ever granted or
 * nothing for the shortest window's length.
 */
export function probeDue(state: LimiterState, windows: ResolvedWindow[], now: number): boolean {
  if (state.quotaHeaders === false || state.slowAnswers) return false;
  const shortest = Math.min(...windows.map((w) => w.ms));
  return state.granted === 0 || now - state.last > shortest;
}

/**
 * A probe still waits for its answer: how long to come back after, or 0 when none waits. A probe
 * not answered within PROBE_WAIT_MS marks the upstream as too slow for probes to pay (the seeds'
 * upstream takes 10 s a call): it is not probed again.
 */
export function probeWait(state: LimiterState, now: number): number {
  if (!state.probe) return 0;
  if (now < state.probe.until) return PROBE_POLL_MS;
  state.slowAnswers = true;
  delete state.probe;
  return 0;
}

/** The probe's token came back unspent or was refused: its answer will not come. */
export function probeSettled(state: LimiterState, seq?: number, slot?: number): void {
  if (state.probe && ((seq !== undefined && seq >= state.probe.seq) || slot === state.probe.at)) delete state.probe;
}
