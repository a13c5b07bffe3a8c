// Rate-limit tokens for one consumer invocation: leased in blocks from the upstream's limiter
// (one call per block, not per request) and spent locally at the instant each one allows. Each
// token is also a permit for one request in flight; finished requests give theirs back with the
// next lease call, and `close()` returns the rest. A token that comes up late (a busy isolate)
// is dropped rather than spent: the limiter spaced the next ones from its instant.
import type { Env } from "../src/env";
import type { Source } from "../src/pipelines/define";
import { limiterStub } from "../durable-objects/rpc/limiter";
import { durationMs } from "../src/upstream/limits";
import { marginMs, toleranceOf } from "../durable-objects/limiter/schedule";
import { MAX_ANSWERS, type Answer } from "../durable-objects/limiter/answers";
import { quotaFromHeaders } from "../src/upstream/quota-headers";

/** Waits for the limiter this long at most; longer waits go back to the queue as a delay. */
const MAX_LOCAL_WAIT_MS = 10_000;
/**
 * The limiter takes a holder's permits back this long after its last call: a holder that died
 * (its process killed, its invocation evicted) strands them no longer. A live holder renews its
 * lease every RENEW_MS while it holds permits, however long its requests take (a lease of twice
 * the request timeout, 70 s for the sample weather source, kept a killed run's restart waiting
 * 96 s for permits nobody held).
 */
const LEASE_MS = 15_000;
const RENEW_MS = 5_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A leased token: the instant it may be spent at, and its place in the limiter's grant order. */
export interface Token {
  at: number;
  seq: number | undefined;
}

export class TokenPool {
  private slots: Token[] = [];
  /** A refill loop is serving the line of waiters. */
  private serving = false;
  /** Takers waiting for a token, in arrival order; null tells them to defer. */
  private waiters: { resolve: (token: Token | null) => void; reject: (err: unknown) => void }[] = [];
  /** Wakes a refill that waits for one of this pool's requests to end. */
  private wake: (() => void) | undefined;
  /** Permits this pool holds at the limiter (spent or not). */
  private held = 0;
  /** Requests that ended since the last call to the limiter. */
  private finished = 0;
  private readonly holder = crypto.randomUUID();
  private readonly env: Env;
  private readonly source: Source;
  /** Tokens this invocation still expects to need: the size of the next lease. */
  private demand: number;
  /** A token spent later than this after its instant would crowd the window: dropped instead. */
  private lateMs: number;
  /** Set when the limiter has no token soon: how long the caller should defer its message. */
  deferMs = 0;
  /** Tokens dropped because they came up too late to spend, and tokens taken. */
  dropped = 0;
  private taken = 0;
  /** 429s this pool has seen: a token leased before the latest one is not spent. */
  private throttles = 0;
  /** The latest a token was spent after its instant since the last call to the limiter. */
  private lateSeen = 0;
  /** Slots of tokens leased and not spent, to give back with the next call (their budget is granted again). */
  private unspent: number[] = [];
  /** What the upstream answered since the last call to the limiter (the quota it stated), the latest MAX_ANSWERS. */
  private answers: Answer[] = [];
  /** The limiter's round trip (moving average): slots are asked for no sooner than it allows. */
  private roundTripMs = 10;
  /** Renews this pool's lease while it holds permits (see LEASE_MS). */
  private renewing: ReturnType<typeof setInterval> | undefined;

  constructor(env: Env, source: Source, demand: number) {
    this.env = env;
    this.source = source;
    this.demand = demand;
    this.lateMs = toleranceOf(marginMs(Math.min(...source.rateLimit.map((w) => durationMs(w.per)))));
  }

  private limiter() {
    return limiterStub(this.env, this.source.name);
  }

  private async refill(): Promise<void> {
    let waited = 0;
    for (;;) {
      const release = this.finished;
      this.finished = 0;
      // Enough for everyone in line and what the invocation still expects, so one call serves a block.
      const askedAt = Date.now();
      const lease = await this.limiter().acquire(this.source.rateLimit, Math.max(1, this.demand, this.waiters.length), {
        holder: this.holder,
        maxInFlight: this.source.concurrency,
        release,
        leaseMs: LEASE_MS,
        leadMs: Math.ceil(this.roundTripMs * 1.5),
        lateMs: this.lateSeen,
        unspent: this.unspent.splice(0),
        answers: this.answers.splice(0),
      });
      this.lateSeen = 0;
      if (lease.toleranceMs !== undefined) this.lateMs = lease.toleranceMs;
      // A cold start of the limiter is not a round trip: samples count up to 50 ms.
      this.roundTripMs = 0.7 * this.roundTripMs + 0.3 * Math.min(50, Date.now() - askedAt);
      this.held = Math.max(0, this.held - release) + lease.slots.length;
      if (this.held > 0) this.renewing ??= setInterval(() => void this.renew(), RENEW_MS);
      if (lease.slots.length > 0) {
        const first = lease.firstSeq;
        this.slots.push(...lease.slots.map((at, i) => ({ at, seq: first === undefined ? undefined : first + i })));
        return;
      }
      // Every permit is taken. If some are ours, the next to end frees one: ask again then
      // (waiting on our own requests is progress, so it does not count toward the local bound).
      const ownInFlight = this.held - this.slots.length - this.finished;
      if (lease.atConcurrency && ownInFlight > 0) {
        // Ask again once a quarter of our requests have ended, so one call brings a block back.
        await this.nextDone(Math.max(1, Math.floor(ownInFlight / 4)), Math.max(lease.retryAfterMs, 250));
        continue;
      }
      if (waited + lease.retryAfterMs > MAX_LOCAL_WAIT_MS) {
        this.deferMs = Math.max(lease.retryAfterMs, 1000);
        return;
      }
      waited += lease.retryAfterMs;
      await sleep(lease.retryAfterMs);
    }
  }

  /** Resolves when `count` of this pool's requests have ended, or after `ms`. */
  private nextDone(count: number, ms: number): Promise<void> {
    const target = this.finished + count;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        if (this.finished < target) return;
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /**
   * Wait for the next token and return it when its instant comes. Null: none soon, defer the
   * request by `deferMs`; or `signal` was aborted (its task gave up): send nothing.
   */
  async take(signal?: AbortSignal): Promise<Token | null> {
    this.demand = Math.max(0, this.demand - 1);
    // A taker whose token came up too late goes to the front of the line for the next one.
    let front = false;
    for (;;) {
      if (this.deferMs > 0 || signal?.aborted) return null;
      const token = (this.waiters.length === 0 ? this.slots.shift() : undefined) ?? (await this.queueForSlot(front));
      if (token === null) return null;
      const throttles = this.throttles;
      const wait = token.at - Date.now();
      if (wait > 0) await sleep(wait);
      if (signal?.aborted) {
        this.unspend(token.at); // its permit goes back with the next call
        return null;
      }
      if (this.throttles !== throttles) {
        // A 429 came while this token waited for its instant: it was leased before the limiter
        // learned, so it is not spent; the taker asks again, first in line. Its slot stays booked:
        // the budget a 429 showed missing is another client's, not ours to grant again.
        this.done();
        this.demand++;
        front = true;
        continue;
      }
      this.taken++;
      // A late token is dropped (its slot goes back), unless most are (an isolate starved of CPU,
      // where dropping would stall): then progress wins over the margin. Either way its lateness is
      // reported, and the limiter widens its margins to cover what this isolate shows.
      const late = Date.now() - token.at;
      this.lateSeen = Math.max(this.lateSeen, late);
      if (late <= this.lateMs || this.dropped >= Math.max(20, this.taken * 0.5)) return token;
      this.dropped++;
      this.unspend(token.at);
      this.demand++;
      front = true;
    }
  }

  /** Wait in line (first come, first served) while one refill loop serves the line. */
  private queueForSlot(front = false): Promise<Token | null> {
    return new Promise((resolve, reject) => {
      if (front) this.waiters.unshift({ resolve, reject });
      else this.waiters.push({ resolve, reject });
      if (!this.serving) void this.serveWaiters();
    });
  }

  private async serveWaiters(): Promise<void> {
    this.serving = true;
    try {
      while (this.waiters.length > 0) {
        await this.refill();
        if (this.deferMs > 0) {
          for (const waiter of this.waiters.splice(0)) waiter.resolve(null);
          return;
        }
        while (this.waiters.length > 0 && this.slots.length > 0) this.waiters.shift()!.resolve(this.slots.shift()!);
      }
    } catch (err) {
      for (const waiter of this.waiters.splice(0)) waiter.reject(err);
    } finally {
      // Cleared in the same turn the line was seen empty: a taker arriving later starts a loop.
      this.serving = false;
    }
  }

  /** A token taken and not spent: its permit and its slot go back with the next call. */
  private unspend(slot: number): void {
    this.unspent.push(slot);
    this.done();
  }

  /** The upstream answered the request spent with `token`: what its headers say remains goes to the limiter. */
  answered(token: Token, status: number, headers: Headers): void {
    if (token.seq === undefined) return;
    const quota = quotaFromHeaders(headers);
    this.answers.push({ seq: token.seq, at: token.at, status, ...(quota ? { quota } : {}) });
    if (this.answers.length > MAX_ANSWERS) this.answers.shift();
  }

  /** The request a token was taken for has ended. */
  done(): void {
    this.finished++;
    this.wake?.();
  }

  /** The request spent with `token` got a 429: the limiter pauses and learns; unspent tokens go back. */
  async throttled(retryAfterMs: number | undefined, token: Token): Promise<void> {
    this.throttles++;
    // Unspent: their permits go back with the next call; their slots stay booked (see take()).
    this.finished += this.slots.length;
    this.slots = [];
    await this.limiter().throttled(this.source.rateLimit, retryAfterMs, token.at, token.seq);
  }

  /** Keep this pool's permits leased while its requests run (a failed renewal is tried again next time). */
  private async renew(): Promise<void> {
    if (this.held === 0) return;
    await this.limiter()
      .renew(this.holder, LEASE_MS)
      .catch((err: unknown) => console.error("renewing rate-limit permits failed", err));
  }

  /** Give back every permit still held (spent or unused). */
  async close(): Promise<void> {
    clearInterval(this.renewing);
    this.renewing = undefined;
    const unspent = [...this.unspent.splice(0), ...this.slots.splice(0).map((t) => t.at)];
    const answers = this.answers.splice(0);
    if (this.held > 0 || unspent.length > 0 || answers.length > 0)
      await this.limiter().release(this.holder, this.held, this.source.rateLimit, unspent, answers);
    this.held = 0;
  }
}
