// What a run's coordinator spends: each request it handles (every RPC call and alarm is billed
// as one) and the wall time it is busy with them (Durable Object duration), the SQLite rows its
// queries read and write, and what it sends and stores through its metered Env. Counted in
// memory while requests are in progress; when the last one ends, the coordinator adds it to the
// usage of the run's current phase.
import { meterEnv, SqlMeter } from "../../src/costs/meter";
import { emptyUsage, isEmptyUsage, USAGE_KEYS } from "../../src/costs/usage";
import type { Usage } from "../../src/types";
import type { Env } from "../../src/env";

export class CoordinatorMeter {
  private readonly counting = emptyUsage();
  private readonly rows: SqlMeter;
  private active = 0;
  private since = 0;
  /** The object's SQLite, counting the rows each query reads and writes. */
  readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.rows = new SqlMeter(sql);
    this.sql = this.rows.sql;
  }

  /** The Env with its bucket, queue and other objects' stubs counted here. */
  env(env: Env): Env {
    return meterEnv(env, this.counting);
  }

  enter(): void {
    this.counting.doRequests++;
    if (this.active++ === 0) this.since = Date.now();
  }

  /** A request ended: when it was the last in progress and `take`, what was spent since is taken out and returned. */
  leave(take: boolean): Usage | null {
    if (--this.active > 0) return null;
    this.counting.doMs += Date.now() - this.since;
    this.rows.drain(this.counting);
    if (!take || isEmptyUsage(this.counting)) return null;
    const spent = { ...this.counting };
    for (const k of USAGE_KEYS) this.counting[k] = 0;
    return spent;
  }
}

/** The run coordinator's RPC methods and its alarm: each call is a billed request. */
export const COORDINATOR_REQUESTS = ["create", "compact", "startQueued", "cancel", "report", "waiting", "redrive", "rerun", "alarm"] as const;
/**
 * Its read-only methods (status polls, the run page): counted too, but what they spent is kept in
 * memory until the next call that writes, so watching a run does not write a row per poll.
 */
export const COORDINATOR_READS = ["view", "notifications", "tasks", "ingestRate"] as const;

/** An object that meters its requests: `meterEnd` is told when each metered call ends, and whether to store what it spent. */
export interface Metered {
  readonly meter: CoordinatorMeter;
  meterEnd(store: boolean): void;
}

/**
 * Make each named method of `proto` (its RPC methods and `alarm`) count as a request, with the
 * time until it settles. Throws at load for a name that is not a method: a renamed method cannot
 * silently fall out of the count.
 */
export function meterRequests(proto: Metered, methods: readonly string[], store = true): void {
  for (const name of methods) {
    const original: unknown = Reflect.get(proto, name);
    if (typeof original !== "function") throw new Error(`meterRequests: ${name} is not a method`);
    const metered = function (this: Metered, ...args: unknown[]): unknown {
      this.meter.enter();
      let result: unknown;
      try {
        result = (original as (...a: unknown[]) => unknown).apply(this, args);
      } catch (err) {
        this.meterEnd(store);
        throw err;
      }
      if (result instanceof Promise) return result.finally(() => this.meterEnd(store));
      this.meterEnd(store);
      return result;
    };
    Object.defineProperty(proto, name, { value: metered, writable: true, configurable: true });
  }
}
