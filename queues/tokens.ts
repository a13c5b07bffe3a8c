// Rate-limit tokens for one consumer invocation: leased in blocks from the upstream's limiter
// (one call per block, not per request) and spent locally at the instant each one allows.
import type { Env } from "../src/env";
import type { RateLimit } from "../src/pipelines/define";
import { limiterStub } from "../src/stubs";

/** Waits for a leased slot this long at most; longer waits go back to the queue as a delay. */
const MAX_LOCAL_WAIT_MS = 2_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class TokenPool {
  private slots: number[] = [];
  private refilling: Promise<void> | undefined;
  /** Set when the limiter has no token soon: how long the caller should defer its message. */
  deferMs = 0;

  constructor(
    private readonly env: Env,
    private readonly upstream: string,
    private readonly limits: RateLimit,
    /** Tokens this invocation still expects to need: the size of the next lease. */
    private demand: number,
  ) {}

  private limiter() {
    return limiterStub(this.env, this.upstream);
  }

  private async refill(): Promise<void> {
    for (;;) {
      const lease = await this.limiter().acquire(this.limits, Math.max(1, this.demand));
      if (lease.slots.length > 0) {
        this.slots.push(...lease.slots);
        return;
      }
      if (lease.retryAfterMs > MAX_LOCAL_WAIT_MS) {
        this.deferMs = lease.retryAfterMs;
        return;
      }
      await sleep(lease.retryAfterMs);
    }
  }

  /** Wait for the next token. False: none soon; defer the request by `deferMs`. */
  async take(): Promise<boolean> {
    while (this.slots.length === 0) {
      if (this.deferMs > 0) return false;
      this.refilling ??= this.refill().finally(() => (this.refilling = undefined));
      await this.refilling;
    }
    this.demand = Math.max(0, this.demand - 1);
    const slot = this.slots.shift()!;
    const wait = slot - Date.now();
    if (wait > 0) await sleep(wait);
    return true;
  }

  /** A 429 got through: tell the limiter to back off. */
  async throttled(retryAfterMs: number | undefined): Promise<void> {
    this.slots = [];
    await this.limiter().throttled(retryAfterMs);
  }
}
