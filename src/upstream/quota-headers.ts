// What an answer says is left of the upstream's limit, from whichever header it uses:
// `X-RateLimit-Limit/Remaining` or `RateLimit-Limit/Remaining`, or the IETF `RateLimit` field
// (`limit=20, remaining=9, reset=1` in draft 6; the structured `"default";r=9;t=1` later, its
// quota in `RateLimit-Policy: "default";q=20;w=1`, or `20;w=1` in draft 6). A limiter that knows
// what remains after each of its requests can tell the share another client on the same key takes.

export interface Quota {
  /** The window's requests, as the upstream states them (absent when it states only what remains). */
  limit?: number;
  /** Requests the upstream would still admit, after counting this one. */
  remaining: number;
}

const count = (value: string | null | undefined): number | undefined => {
  if (value === null || value === undefined) return undefined;
  const n = Number(value.trim());
  return Number.isInteger(n) && n >= 0 ? n : undefined;
};

/** A `name=12` parameter inside a field: draft 6's `remaining=9`, or the structured `;r=9`. */
const parameter = (name: string) => new RegExp(`(?:^|[;,\\s])${name}=(\\d+)(?:$|[;,\\s])`, "i");
const REMAINING = [parameter("remaining"), parameter("r")];
const LIMIT = parameter("limit");
const QUOTA = parameter("q");
/** Draft 6's policy states the quota as its leading number (`20;w=1`). */
const LEADING = /^\s*(\d+)\s*(?:;|$)/;

const first = (field: string, patterns: RegExp[]): number | undefined => {
  for (const p of patterns) {
    const m = p.exec(field);
    if (m) return Number(m[1]);
  }
  return undefined;
};

/** The quota an answer states, or undefined when it states none. */
export function quotaFromHeaders(headers: Headers): Quota | undefined {
  for (const prefix of ["x-ratelimit", "ratelimit"]) {
    const remaining = count(headers.get(`${prefix}-remaining`));
    if (remaining !== undefined) return { remaining, limit: count(headers.get(`${prefix}-limit`)) };
  }
  const field = headers.get("ratelimit");
  if (field === null) return undefined;
  const remaining = first(field, REMAINING);
  if (remaining === undefined) return undefined;
  const policy = headers.get("ratelimit-policy");
  const fromPolicy = policy === null ? undefined : (first(policy, [QUOTA]) ?? count(LEADING.exec(policy)?.[1]));
  return { remaining, limit: first(field, [LIMIT]) ?? fromPolicy };
}
