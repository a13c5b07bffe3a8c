// Rate-limit tokens for one consumer invocation: leased in blocks from the upstream's limiter
// (one call per block, not per request) and spent locally at the instant each one allows. Each
// token is also a permit for one request in flight; finished requests give theirs back with the
// next lease call, and `close()` returns the rest.
import type { Env } from "../src/env";
import type { Source } from "../src/pipelines/define";
import { limiterStub } from "../src/stubs";

/** Waits for the limiter this long at most; longer waits go back to the queue as a delay. */
const MAX_LOCAL_WAIT_MS = 2_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class TokenPool {
  private slots: number[] = [];
  private refilling: Promise<void> | undefined;
  /** Permits this pool holds at the limiter (spent or not). */
  private held = 0;
  /** Requests that ended since the last call to the limiter. */
  private finished = 0;
  private readonly holder = crypto.randomUUID();
  private readonly env: Env;
  private readonly source: Source;
  /** Tokens this invocation still expects to need: the size of the next lease. */
  private demand: number;
  /** Set when the limiter has no token soon: how long the caller should defer its message. */
  deferMs = 0;

  constructor(env: Env, source: Source, demand: number) {
    this.env = env;
    this.source = source;
    this.demand = demand;
  }

  private limiter() {
    return limiterStub(this.env, this.source.name);
  }

  private async refill(): Promise<void> {
    let waited = 0;
    for (;;) {
      const release = this.finished;
      this.finished = 0;
      const lease = await this.limiter().acquire(this.source.rateLimit, Math.max(1, this.demand), {
        holder: this.holder,
        maxInFlight: this.source.concurrency,
        release,
        leaseMs: this.source.timeoutMs * 2 + 10_000,
      });
      this.held = Math.max(0, this.held - release) + lease.slots.length;
      if (lease.slots.length > 0) {
        this.slots.push(...lease.slots);
        return;
      }
      if (waited + lease.retryAfterMs > MAX_LOCAL_WAIT_MS) {
        this.deferMs = Math.max(lease.retryAfterMs, 1000);
        return;
      }
      waited += lease.retryAfterMs;
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

  /** The request a token was taken for has ended. */
  done(): void {
    this.finished++;
  }

  /** A 429 got through: tell the limiter to back off. */
  async throttled(retryAfterMs: number | undefined): Promise<void> {
    this.slots = [];
    await this.limiter().throttled(retryAfterMs);
  }

  /** Give back every permit still held (spent or unused). */
  async close(): Promise<void> {
    if (this.held > 0) await this.limiter().release(this.holder, this.held);
    this.held = 0;
    this.slots = [];
  }
}
