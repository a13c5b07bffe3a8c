// The rate limiter's state, as stored between calls, and how its grant log is read.

export interface WindowState {
  spec: string;
  /** Grants as [time, count] pairs (flattened), times rounded up to the bucket, ascending. */
  log: number[];
  /** The clock-aligned window (`floor(t / ms)`) of the latest grant, its count and the one before. */
  index: number;
  count: number;
  prev: number;
  /** Grants of window `index` in its last margin: sent late, they count in the next one, which starts charged with them. */
  ahead?: number;
  /** GCRA theoretical arrival time, for windows with a burst. */
  tat: number;
  /** Another client's requests in the window, as answers showed them: [time, requests] pairs, falling (limiter/answers.ts). */
  others?: number[];
  /** The most another client can have used of this window when a shorter one was stated as the tightest: [time, requests]. */
  bound?: [number, number];
}

export interface LimiterState {
  windows: WindowState[];
  /** The latest slot granted: slots are granted in order. */
  last: number;
  pausedUntil: number;
  /** Effective share of the declared limit, learned from 429s, at `factorAt`. */
  factor: number;
  factorAt: number;
  /** Slots up to this one were granted before the last lowering: their 429s teach nothing new. */
  learnedThrough: number;
  /** The largest lateness holders reported (ms), at `jitterAt`; it decays. */
  jitterMs: number;
  jitterAt: number;
  /** Tokens granted so far: the next one's sequence number (a 429 names its token by it). */
  granted: number;
  /** Whether the upstream's answers state what remains of its limit: unknown until one is reported. */
  quotaHeaders?: boolean;
  /** The probe out: the one token granted after a quiet spell; the others wait for its answer until `until` (the answer removes it). */
  probe?: { seq: number; at: number; until: number };
  /** A probe went unanswered for PROBE_WAIT_MS: this upstream is not probed again. */
  slowAnswers?: boolean;
}

export interface Lease {
  /** Epoch ms at which each granted token may be spent, ascending. */
  slots: number[];
  /** When no token could be granted within the horizon: how long to wait before asking again. */
  retryAfterMs: number;
  /** Set when no token was granted because every in-flight permit is taken (not the rate). */
  atConcurrency?: true;
  /** A token spent later than this after its instant must be dropped (the margin less the delay's spread). */
  toleranceMs?: number;
  /** The sequence number of the first slot; the others follow in order. */
  firstSeq?: number;
}

export const initialState = (): LimiterState => ({
  windows: [],
  last: 0,
  pausedUntil: 0,
  factor: 1,
  factorAt: 0,
  learnedThrough: 0,
  jitterMs: 0,
  jitterAt: 0,
  granted: 0,
});

/** Grants in a window's log (flattened [time, count] pairs, ascending) later than `after`. */
export function countAfter(log: number[], after: number): number {
  let n = 0;
  for (let i = log.length - 2; i >= 0 && log[i]! > after; i -= 2) n += log[i + 1]!;
  return n;
}
