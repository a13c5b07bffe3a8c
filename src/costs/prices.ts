// What Cloudflare charges for what a run uses, on the Workers Paid plan, as published on
// developers.cloudflare.com (workers/platform/pricing, durable-objects/platform/pricing,
// queues/platform/pricing, r2/pricing). One place, dated: when a price changes, change it here.
// The monthly amounts the plan includes (10 million Worker requests, 1 million R2 class A
// operations, …) and its $5 base are not subtracted: a run's cost is what it adds past them.

export const PRICES = {
  /** When these figures were last checked against the published pages. */
  checked: "2026-11-30",
  currency: "USD",
  /** Workers: per request (a queue consumer invocation is one), per CPU millisecond. */
  workerRequest: 0.3 / 1e6,
  workerCpuMs: 0.02 / 1e6,
  /** Durable Objects: per request (each RPC call, each alarm), per GB-second of wall time while active (128 MB each). */
  doRequest: 0.15 / 1e6,
  doGbSecond: 12.5 / 1e6,
  doMemoryGb: 0.128,
  /** Durable Objects' SQLite storage: per row read, per row written, per GB-month stored. */
  sqliteRowRead: 0.001 / 1e6,
  sqliteRowWritten: 1 / 1e6,
  sqliteGbMonth: 0.2,
  /** Queues: per operation (each 64 KB written, read or deleted: a delivered message is three). */
  queueOperation: 0.4 / 1e6,
  /** R2 standard storage: class A (writes, lists), class B (reads), per GB-month stored. */
  r2ClassA: 4.5 / 1e6,
  r2ClassB: 0.36 / 1e6,
  r2GbMonth: 0.015,
} as const;
