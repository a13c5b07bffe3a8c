// How long an upstream asks us to wait, from whichever header it uses: `Retry-After` (seconds or
// an HTTP date), `X-RateLimit-Reset` / `RateLimit-Reset` (seconds from now, or an epoch time in
// seconds or milliseconds), or the IETF `RateLimit` field (`limit=10, remaining=0, reset=5`, or the structured
// `"default";r=0;t=5`).

/** An epoch time is told apart from a delta by its size: in seconds after 2001-09-09, in milliseconds after that in seconds. */
const EPOCH_SECONDS = 1_000_000_000;
const EPOCH_MILLISECONDS = 1_000_000_000_000;

/**
 * The longest wait an answer can ask for: past it (a reset a year away, a header in a unit we
 * misread) sluice asks again after a day, one request, rather than leave a run waiting for ever.
 */
export const MAX_WAIT_MS = 86_400_000;

function secondsOrEpoch(value: string, now: number): number | undefined {
  const n = Number(value.trim());
  if (!Number.isFinite(n) || n < 0) return undefined;
  if (n >= EPOCH_MILLISECONDS) return Math.max(0, n - now);
  return n >= EPOCH_SECONDS ? Math.max(0, n * 1000 - now) : n * 1000;
}

function retryAfter(value: string, now: number): number | undefined {
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/** `reset=5` (draft 6) or `t=5` (later drafts) inside an IETF `RateLimit` field. */
function ietfReset(value: string): number | undefined {
  const m = /(?:^|[;,\s])(?:reset|t)=(\d+(?:\.\d+)?)/i.exec(value);
  return m ? Number(m[1]) * 1000 : undefined;
}

/** Whether a remaining count says the quota the reset belongs to is spent (or says nothing). */
function spent(remaining: string | null): boolean {
  if (remaining === null) return true;
  const n = Number(remaining.trim());
  return !Number.isFinite(n) || n <= 0;
}

/**
 * Milliseconds the response asks us to wait before the next request, if it says. `Retry-After`
 * is the most specific and wins; otherwise a reset counts only when its remaining count is 0 or
 * absent (a 429 from a per-second limit may carry the reset of an hourly quota that is not spent).
 */
export function waitFromHeaders(headers: Headers, now: number): number | undefined {
  const after = headers.get("retry-after");
  const fromAfter = after === null ? undefined : retryAfter(after, now);
  if (fromAfter !== undefined && Number.isFinite(fromAfter)) return Math.min(MAX_WAIT_MS, Math.ceil(fromAfter));
  const waits: (number | undefined)[] = [];
  const ietf = headers.get("ratelimit");
  if (ietf !== null) {
    const remaining = /(?:^|[;,\s])(?:remaining|r)=(\d+)/i.exec(ietf);
    if (!remaining || Number(remaining[1]) <= 0) waits.push(ietfReset(ietf));
  }
  for (const prefix of ["x-ratelimit", "ratelimit"]) {
    const reset = headers.get(`${prefix}-reset`);
    if (reset !== null && spent(headers.get(`${prefix}-remaining`))) waits.push(secondsOrEpoch(reset, now));
  }
  const known = waits.filter((w): w is number => w !== undefined && Number.isFinite(w));
  return known.length === 0 ? undefined : Math.min(MAX_WAIT_MS, Math.ceil(Math.max(...known)));
}
