// Bearer-token auth. Mutating requests always need the token; reads too unless PUBLIC_READS
// is "true". With no token configured, everything that needs one is refused (fail closed).
import type { MiddlewareHandler } from "hono";
import type { Api } from "./context";
import { ApiError } from "../errors";

async function digest(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
}

/** Constant-time comparison of two secrets (of any lengths). */
export async function sameSecret(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([digest(a), digest(b)]);
  return crypto.subtle.timingSafeEqual(x, y);
}

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function requireToken(): MiddlewareHandler<Api> {
  return async (c, next) => {
    if (READ_METHODS.has(c.req.method) && c.env.PUBLIC_READS === "true") return next();
    const expected = c.env.SLUICE_API_TOKEN;
    if (!expected) {
      throw new ApiError(
        403,
        "auth_not_configured",
        "this deployment has no API token: set the SLUICE_API_TOKEN secret (wrangler secret put SLUICE_API_TOKEN) to enable this endpoint",
      );
    }
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new ApiError(401, "unauthorized", "send 'Authorization: Bearer <token>'");
    if (!(await sameSecret(match[1]!, expected))) throw new ApiError(401, "unauthorized", "the bearer token is not valid");
    return next();
  };
}
