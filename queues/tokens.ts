// Rate-limit tokens and in-flight permits for one consumer invocation. Tokens (the instants at
// which requests may start) are leased from the upstream's limiter in blocks, one call per block;
// permits (how many requests this invocation may have in flight) are leased as a count, its fair
// share of the upstream's concurrency, and kept for the invocation's life: a finished request
// frees its permit here, without a call. Permits above the share, or no longer needed, go back.
import type { Env } from "../src/env";
import type { Source } from "../src/pipelines/define";
import { limiterStub } from "../src/stubs";

/** Waits for the limiter this long at most; longer waits go back to the queue as a delay. */
const MAX_LOCAL_WAIT_MS = 2_000;
/** At its permits, an invocation asks for more at most this often (else it waits for its own requests). */
const PERMIT_POLL_MS = 250;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class TokenPool {
  /** Instants at which leased tokens may be spent, ascending. */
  private slots: number[] = [];
  /** In-flight permits held at the limiter. */
  private permits = 0;
  /** The fair share the limiter last reported. */
  private share = Number.POSITIVE_INFINITY;
  /** This invocation's requests in flight. */
  private inFlight = 0;
  /** A call to the limiter is under way; permits released meanwhile are counted in its answer. */
  private asking = false;
  private releasedWhileAsking = 0;
  private lastAsk = 0;
  /** A refill loop is serving the line of waiters. */
  private serving = false;
  /** Takers waiting for a token, in arrival order; null tells them to defer. */
  private waiters: { resolve: (slot: number | null) => void; reject: (err: unknown) => void }[] = [];
  /** Wakes a loop that waits for one of this pool's requests to end. */
  private wake: (() => void) | undefined;
  private releases: Promise<void>[] = [];
  private readonly holder = crypto.randomUUID();
  private readonly env: Env;
  private readonly source: Source;
  /** Requests this invocation still expects to make: the size of the next block of tokens. */
  private demand: number;
  /** Set when the limiter has no token soon: how long the caller should defer its message. */
  deferMs = 0;

  constructor(env: Env, source: Source, demand: number) {
    this.env = env;
    this.source = source;
    this.demand = demand;
  }

  private stub: ReturnType<typeof limiterStub> | undefined;

  /** One stub for the pool's life: calls through it reach the limiter in the order they are made. */
  private limiter() {
    this.stub ??= limiterStub(this.env, this.source.name);
    return this.stub;
  }

  /** One call to the limiter: permits we could use now and (if asked) a block of tokens. */
  private async ask(tokens: number): Promise<{ retryAfterMs: number; atConcurrency: boolean; got: number }> {
    this.lastAsk = Date.now();
    this.asking = true;
    this.releasedWhileAsking = 0;
    const want = Math.min(this.source.concurrency, Math.max(1, this.inFlight + this.waiters.length));
    try {
      const lease = await this.limiter().acquire(this.source.rateLimit, tokens, {
        holder: this.holder,
        maxInFlight: this.source.concurrency,
        release: 0,
        want,
        leaseMs: this.source.timeoutMs * 2 + 10_000,
      });
      // Releases sent while we asked reach the limiter after this call: its count still has them.
      this.permits = lease.permits - this.releasedWhileAsking;
      this.share = lease.share;
      this.slots.push(...lease.slots);
      return { retryAfterMs: lease.retryAfterMs, atConcurrency: lease.atConcurrency === true, got: lease.slots.length };
    } finally {
      this.asking = false;
    }
  }

  /** Resolves when one of this pool's requests ends, or after `ms`. */
  private nextDone(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** Wait for a token and a permit. False: none soon; defer the request by `deferMs`. */
  async take(): Promise<boolean> {
    if (this.deferMs > 0) return false;
    this.demand = Math.max(0, this.demand - 1);
    let slot: number | null;
    if (this.waiters.length === 0 && this.slots.length > 0 && this.inFlight < this.permits) {
      this.inFlight++;
      slot = this.slots.shift()!;
    } else slot = await this.queue();
    if (slot === null) return false;
    const wait = slot - Date.now();
    if (wait > 0) await sleep(wait);
    return true;
  }

  /** Wait in line (first come, first served) while one loop serves the line. */
  private queue(): Promise<number | null> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.serving) void this.serve();
    });
  }

  private async serve(): Promise<void> {
    this.serving = true;
    let waited = 0;
    try {
      while (this.waiters.length > 0) {
        if (this.slots.length > 0 && this.inFlight < this.permits) {
          // A token and a permit: the head of the line goes.
          this.inFlight++;
          this.waiters.shift()!.resolve(this.slots.shift()!);
          continue;
        }
        const needToken = this.slots.length === 0;
        const atPermits = this.permits > 0 && this.inFlight >= this.permits;
        // Now and then ask anyway: for more permits, or to learn that our share shrank.
        const mayGetMore = Date.now() - this.lastAsk >= PERMIT_POLL_MS;
        if (atPermits && !needToken && !mayGetMore) {
          // Our own requests hold every permit we may have: the next to end frees one.
          await this.nextDone(PERMIT_POLL_MS);
          continue;
        }
        const tokens = needToken ? Math.min(1000, Math.max(1, this.demand, this.waiters.length)) : 0;
        const r = await this.ask(tokens);
        this.trim();
        if (r.got > 0 || (!needToken && this.inFlight < this.permits)) continue;
        if (this.inFlight > 0 && (r.atConcurrency || !needToken)) {
          await this.nextDone(Math.max(r.retryAfterMs, 1)); // waiting on our own requests is progress
          continue;
        }
        if (waited + r.retryAfterMs > MAX_LOCAL_WAIT_MS) {
          this.deferMs = Math.max(r.retryAfterMs, 1000);
          for (const waiter of this.waiters.splice(0)) waiter.resolve(null);
          return;
        }
        waited += r.retryAfterMs;
        await sleep(r.retryAfterMs);
      }
    } catch (err) {
      for (const waiter of this.waiters.splice(0)) waiter.reject(err);
    } finally {
      // Cleared in the same turn the line was seen empty: a taker arriving later starts a loop.
      this.serving = false;
    }
  }

  /** The request a token was taken for has ended: its permit is free again. */
  done(): void {
    this.inFlight--;
    this.trim();
    // Busy but not calling (tokens in hand): ask now and then, to learn a smaller share when others wait.
    if (!this.serving && !this.asking && Date.now() - this.lastAsk >= PERMIT_POLL_MS && this.demand > 0) {
      this.releases.push(
        this.ask(0)
          .then(() => this.trim())
          .catch(() => undefined),
      );
    }
    this.wake?.();
  }

  /** Give back permits above our share (others wait), or all unused ones when nothing is left to do. */
  private trim(): void {
    const keep = this.waiters.length === 0 && this.demand === 0 ? this.inFlight : Math.max(this.inFlight, Math.min(this.permits, this.share));
    const spare = this.permits - keep;
    if (spare <= 0) return;
    this.permits -= spare;
    if (this.asking) this.releasedWhileAsking += spare;
    // A release that fails is not lost for long: the limiter takes the permits back when our lease expires.
    this.releases.push(
      this.limiter()
        .release(this.holder, spare)
        .catch(() => undefined),
    );
  }

  /** A 429 got through: tell the limiter to back off. */
  async throttled(retryAfterMs: number | undefined): Promise<void> {
    this.slots = []; // unspent tokens predate the penalty
    await this.limiter().throttled(retryAfterMs);
  }

  /** Give back every permit still held. */
  async close(): Promise<void> {
    await Promise.all(this.releases.splice(0));
    if (this.permits > 0) await this.limiter().release(this.holder, this.permits);
    this.permits = 0;
    this.slots = [];
  }
}
