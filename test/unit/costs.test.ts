// The cost arithmetic and the meters, one call at a time against local R2 and a queue.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { meterBucket, meterNamespace, meterQueue, queueUnits } from "../../src/costs/meter";
import type { LimiterStub } from "../../durable-objects/rpc/limiter";
import { addUsage, costOf, emptyUsage, formatDollars, runUsage, usageFrom } from "../../src/costs/usage";
import type { TaskMessage } from "../../src/types";

describe("pricing", () => {
  it("prices each line at the published figure and adds them up", () => {
    const u = {
      ...emptyUsage(),
      workerRequests: 1e6,
      workerMs: 1e6,
      doRequests: 1e6,
      doMs: 1e6 * 1000,
      sqliteRowsRead: 1e6,
      sqliteRowsWritten: 1e6,
      queueOperations: 1e6,
      r2ClassA: 1e6,
      r2ClassB: 1e6,
      r2BytesWritten: 1e9,
    };
    const cost = costOf(u);
    const per = Object.fromEntries(cost.lines.map((l) => [l.item, Math.round(l.dollars * 1e6) / 1e6]));
    // A million of each, as the pricing pages list them; a million DO seconds at 128 MB are 128,000 GB-s.
    expect(per).toEqual({
      "Worker requests": 0.3,
      "Worker CPU (at most)": 0.02,
      "Durable Object requests": 0.15,
      "Durable Object duration": 1.6,
      "SQLite rows read": 0.001,
      "SQLite rows written": 1,
      "Queue operations": 0.4,
      "R2 class A": 4.5,
      "R2 class B": 0.36,
    });
    expect(cost.dollars).toBeCloseTo(0.3 + 0.02 + 0.15 + 1.6 + 0.001 + 1 + 0.4 + 4.5 + 0.36, 9);
    expect(cost.storagePerMonth).toBeCloseTo(0.015, 9);
  });

  it("adds shares of an invocation back to whole ones and reads stored usage defensively", () => {
    const u = emptyUsage();
    for (let i = 0; i < 10; i++) addUsage(u, { workerRequests: 1 }, 1 / 10);
    expect(u.workerRequests).not.toBe(1); // 0.9999999999999999 in floating point
    const run = runUsage({ ingest: u, refine: { ...emptyUsage(), workerRequests: 2 } });
    expect(run.phases.ingest?.workerRequests).toBe(1);
    expect(run.total.workerRequests).toBe(3);
    expect(usageFrom({ r2ClassA: 3, r2ClassB: -1, other: 5, queueOperations: "x" })).toEqual({ ...emptyUsage(), r2ClassA: 3 });
    expect(usageFrom(null)).toEqual(emptyUsage());
  });

  it("writes dollars as people read them", () => {
    expect(formatDollars(0)).toBe("$0");
    expect(formatDollars(0.000423)).toBe("$0.00042");
    expect(formatDollars(12.345)).toBe("$12.35");
    expect(formatDollars(undefined)).toBe("");
  });
});

describe("meters", () => {
  it("counts R2 class A and B operations and the bytes written, multipart included", async () => {
    const u = emptyUsage();
    const bucket = meterBucket(env.BUCKET, u);
    await bucket.put("costs/a.json", "12345");
    await bucket.get("costs/a.json");
    await bucket.get("costs/missing");
    await bucket.head("costs/a.json");
    await bucket.list({ prefix: "costs/" });
    await bucket.delete("costs/a.json"); // free
    const upload = await bucket.createMultipartUpload("costs/big");
    const part1 = await upload.uploadPart(1, new Uint8Array(5 * 1024 * 1024));
    const resumed = bucket.resumeMultipartUpload("costs/big", upload.uploadId);
    const part2 = await resumed.uploadPart(2, new Uint8Array(10));
    await resumed.complete([part1, part2]);
    expect(u).toEqual({ ...emptyUsage(), r2ClassA: 1 + 1 + 1 + 2 + 1, r2ClassB: 3, r2BytesWritten: 5 + 5 * 1024 * 1024 + 10 });
  });

  it("counts a queue operation per 64 KB of each message written", async () => {
    const u = emptyUsage();
    const queue = meterQueue(env.TASKS, u);
    const body = (pad: number) => ({ v: 1, pad: "x".repeat(pad) }) as unknown as TaskMessage;
    expect(queueUnits(body(10))).toBe(1);
    expect(queueUnits(body(70 * 1024))).toBe(2);
    await queue.sendBatch([{ body: body(10) }, { body: body(70 * 1024) }]);
    expect(u.queueOperations).toBe(3);
  });

  it("counts each call to another Durable Object, and the SQLite rows the rate limiter says it wrote", async () => {
    const u = emptyUsage();
    const ns = meterNamespace(env.RATE_LIMITER, u);
    const limiter = ns.get(ns.idFromName("costs-unit")) as unknown as LimiterStub;
    // A limiter that has seen no answer yet grants one token first (a probe).
    const lease = await limiter.acquire([{ requests: 10, per: "1s" }], 3, { holder: "h", maxInFlight: 4, release: 0, leaseMs: 60_000 });
    expect(lease.slots).toHaveLength(1);
    await limiter.release("h", 1);
    // acquire stores the windows and the holders (a row each); release, the holders.
    expect(u).toEqual({ ...emptyUsage(), doRequests: 2, sqliteRowsWritten: 3 });
  });
});
