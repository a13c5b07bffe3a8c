// The handle on an upstream's rate limiter (for the consumers' token pools).
import type { Env } from "../../src/env";
import type { RateLimiter } from "../rate-limiter";
import { stubOf, type Remote } from "./types";

export type LimiterStub = Remote<RateLimiter>;
export const limiterStub = (env: Env, upstream: string): LimiterStub => stubOf<RateLimiter>(env.RATE_LIMITER, upstream);
