// An upstream's rate limit, as a list of windows: "at most `requests` in any `per`". A window
// without `burst` is held so that no interval of its length, aligned to the clock or rolling,
// ever holds more than `requests` — safe against fixed windows, sliding logs, sliding counters
// and token buckets alike. A window with `burst` says the upstream is a token bucket known to
// allow that many at once after a quiet spell (its refill rate `requests / per`).
import { z } from "zod";

const UNITS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `250ms`, `1s`, `90s`, `5m`, `1h`, `1d` (a whole or decimal number and a unit). */
export type Duration = `${number}${keyof typeof UNITS}`;

export interface LimitWindow {
  /** Requests the upstream allows in any interval of `per`. */
  requests: number;
  per: Duration;
  /** The upstream is a token bucket of this capacity (refilling `requests` every `per`): only when known. */
  burst?: number;
}

/** Every window the upstream enforces at once (e.g. 200 per second and 1,000 per hour). */
export type RateLimit = LimitWindow[];

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Milliseconds of a duration; throws on anything else. */
export function durationMs(duration: string): number {
  const m = DURATION.exec(duration);
  if (!m) throw new Error(`"${duration}" is not a duration (use e.g. 500ms, 1s, 5m, 1h, 1d)`);
  return Math.round(Number(m[1]) * UNITS[m[2] as keyof typeof UNITS]);
}

export const durationSchema = z
  .string()
  .regex(DURATION, "a duration such as 500ms, 1s, 5m, 1h or 1d")
  .refine((d) => !DURATION.test(d) || (durationMs(d) >= 10 && durationMs(d) <= 31 * UNITS.d), "between 10ms and 31d") as unknown as z.ZodType<Duration>;

export const limitWindowSchema = z
  .object({
    requests: z.number().int().min(1).max(100_000_000),
    per: durationSchema,
    burst: z.number().int().min(1).max(100_000_000).optional(),
  })
  .strict();

export const rateLimitSchema = z.array(limitWindowSchema).min(1).max(8);

/** A window with its length in ms and a stable name for its stored state. */
export interface ResolvedWindow {
  requests: number;
  ms: number;
  burst?: number;
  spec: string;
}

export function resolveWindows(limit: RateLimit): ResolvedWindow[] {
  return limit.map((w) => ({ requests: w.requests, ms: durationMs(w.per), burst: w.burst, spec: `${w.requests}/${w.per}${w.burst ? `/b${w.burst}` : ""}` }));
}

/** Throws with a message naming the source when a declaration is not a valid limit. */
export function checkRateLimit(limit: unknown, where: string): RateLimit {
  const parsed = rateLimitSchema.safeParse(limit);
  if (!parsed.success) throw new Error(`${where}: rateLimit is not valid: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

/** The sustained rate the limit allows, in requests per second (the tightest window's). */
export function sustainedPerSecond(limit: RateLimit): number {
  return Math.min(...limit.map((w) => (w.requests * 1000) / durationMs(w.per)));
}

/** "20/1s + 1000/1h": for logs and the dashboard. */
export function describeLimit(limit: RateLimit): string {
  return limit.map((w) => `${w.requests}/${w.per}${w.burst ? ` (burst ${w.burst})` : ""}`).join(" + ");
}
