// The best any client could do against a sample upstream shared with a second client: each of
// `n` requests sent the first millisecond (one a millisecond at most) that the upstream admits it
// and admitting it leaves every request the second client sends later admitted too (looked ahead
// two of the longest windows). It knows the upstream's algorithm and state at every instant,
// which no client does, so its span bounds from below what sluice's can be while it leaves the
// second client its share, cell by cell of the limits matrix.
import { UpstreamLimits, type UpstreamLimitSpec } from "../src/sample/limit-algorithms";

/** The span (first to last request, ms) of the all-knowing client's `n` requests. */
export function ceilingSpanMs(specs: UpstreamLimitSpec[], n: number, otherPerSecond: number): number {
  const upstream = new UpstreamLimits(specs);
  // As the sample upstream runs it: evenly spaced, on the key for the longest window (a minute
  // at most) before the first request.
  const longest = Math.min(60_000, Math.max(...specs.map((s) => s.perMs)));
  const interval = otherPerSecond > 0 ? 1000 / otherPerSecond : Infinity;
  const start = 1_800_000_000_123;
  /** The second client's requests up to `until` from `next` on, on `u`: where it got to, and how many were refused. */
  const other = (u: UpstreamLimits, next: number, until: number) => {
    let refused = 0;
    for (; next <= until; next += interval) if (u.admit(next) > 0) refused++;
    return { next, refused };
  };
  let otherNext = start - longest;
  let sent = 0;
  let first = 0;
  let last = 0;
  for (let t = start; sent < n; t++) {
    otherNext = other(upstream, otherNext, t).next;
    const trial = upstream.copy();
    if (trial.admit(t) > 0) continue;
    if (otherPerSecond > 0 && other(trial, otherNext, t + 2 * longest).refused > 0) continue;
    upstream.admit(t);
    if (sent++ === 0) first = t;
    last = t;
  }
  return last - first;
}
