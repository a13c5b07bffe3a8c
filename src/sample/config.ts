import { z } from "zod";

/** Knobs of the sample upstream, set with `PUT /sample/edr/_config`. */
export const sampleConfigSchema = z
  .object({
    /** Added to every data request. */
    latencyMs: z.number().int().min(0).max(120_000).default(0),
    /** Requests per second (token bucket); 0 = unlimited. */
    perSecond: z.number().min(0).max(100_000).default(0),
    /** Bucket capacity for the per-second limit; defaults to perSecond. */
    burst: z.number().int().min(0).max(100_000).default(0),
    /** Requests per UTC clock hour (a fixed window); 0 = unlimited. */
    perHour: z.number().int().min(0).max(100_000_000).default(0),
    /**
     * Limits enforced as real upstreams do, all at once, besides perSecond/perHour:
     * `token-bucket` (capacity `burst`, default `requests`), `fixed-window` (clock-aligned),
     * `sliding-log` (any rolling interval), `sliding-counter` (weighted previous window).
     */
    limits: z
      .array(
        z
          .object({
            algorithm: z.enum(["token-bucket", "fixed-window", "sliding-log", "sliding-counter"]),
            requests: z.number().int().min(1).max(100_000_000),
            perMs: z
              .number()
              .int()
              .min(10)
              .max(31 * 86_400_000),
            burst: z.number().int().min(1).max(100_000_000).optional(),
          })
          .strict(),
      )
      .max(8)
      .default([]),
    /** Another client on the same key, sending this many requests per second (evenly) into the same limits. */
    otherClientPerSecond: z.number().min(0).max(100_000).default(0),
    /** How a 429 says when to come back: `Retry-After` in seconds, as an HTTP date, or not at all. */
    retryAfter: z.enum(["seconds", "date", "none"]).default("seconds"),
    /** Rate-limit headers on every answer: none, `X-RateLimit-Limit/Remaining/Reset`, or the IETF `RateLimit` field. */
    rateLimitHeaders: z.enum(["none", "x-ratelimit", "ietf"]).default("none"),
    /** Count 200 answers to a URL already answered 200 (pages fetched twice). */
    trackRepeats: z.boolean().default(false),
    /** Share of data requests that fail transiently (0..1). */
    faultRate: z.number().min(0).max(1).default(0),
    /**
     * Which transient faults to draw from: 503; a hang of `hangMs` then 504; half a body; a
     * burst of `burst429` 429s with Retry-After: 1; the same burst without Retry-After.
     */
    faultKinds: z
      .array(z.enum(["5xx", "timeout", "truncate", "429", "429-bare"]))
      .min(1)
      .default(["5xx", "timeout", "truncate"]),
    /** Requests in one 429 burst (the drawn one and those right after it). */
    burst429: z.number().int().min(1).max(100).default(5),
    /** How long a `timeout` fault holds the connection before answering 504. */
    hangMs: z.number().int().min(0).max(300_000).default(60_000),
    /**
     * Hold every data request unanswered until `POST /_release` (or 60 s): a test decides when
     * the upstream answers, instead of a latency it must outwait. `_stats` counts those held.
     */
    holdRequests: z.boolean().default(false),
    /** Stations whose requests always fail with 503, until the config changes. */
    failingStations: z
      .array(z.string().regex(/^[0-9]{5}$/))
      .max(1000)
      .default([]),
    /** Stations with an outage: about one hour in 40 is missing from their series. */
    gapStations: z
      .array(z.string().regex(/^[0-9]{5}$/))
      .max(1000)
      .default([]),
    /** Stations that answer 404, as deleted ones do. */
    deletedStations: z
      .array(z.string().regex(/^[0-9]{5}$/))
      .max(1000)
      .default([]),
    /** The social API's bearer token; empty: no auth. */
    socialToken: z.string().max(200).default(""),
    /** Social accounts that answer 410 Gone, besides every id divisible by 97. */
    deletedAccounts: z
      .array(z.string().regex(/^[0-9]{1,9}$/))
      .max(1000)
      .default([]),
    /** Social accounts whose posts always answer 400 (a request the upstream will never accept). */
    brokenAccounts: z
      .array(z.string().regex(/^[0-9]{1,9}$/))
      .max(1000)
      .default([]),
    /** The webhook receiver answers 500 to this many deliveries first. */
    webhookFailures: z.number().int().min(0).max(100).default(0),
    /** Seed of the fault draw, so a faulty run can be replayed. */
    seed: z.number().int().default(1),
  })
  .strict();

export type SampleConfig = z.infer<typeof sampleConfigSchema>;

export interface SampleStats {
  requests: number;
  byStatus: Record<string, number>;
  /** Requests refused with 429: the number sluice must keep at 0. */
  violations: number;
  faults: Record<string, number>;
  /** Most data requests seen within one epoch second. */
  peakPerSecond: number;
  /** 200 answers to a URL already answered 200 (with `trackRepeats`). */
  repeats: number;
  /** The other client on the key (`otherClientPerSecond`): requests sent and refused. */
  other: { sent: number; refused: number };
  firstAt: number | null;
  lastAt: number | null;
}

export function emptyStats(): SampleStats {
  return { requests: 0, byStatus: {}, violations: 0, faults: {}, peakPerSecond: 0, repeats: 0, other: { sent: 0, refused: 0 }, firstAt: null, lastAt: null };
}
