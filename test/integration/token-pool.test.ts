// The consumer's token pool: many requests of one invocation share it, wait in line, and never
// have more in flight than the upstream's concurrency, across pools.
import { describe, expect, it } from "vitest";
import type { Source } from "../../src/pipelines/define";
import { limiterStub } from "../../durable-objects/rpc/limiter";
import { TokenPool } from "../../queues/tokens";
import { env } from "../helpers";

const source = (name: string): Source => ({
  name,
  baseUrl: "http://upstream.invalid",
  rateLimit: [{ requests: 100_000, per: "1s" }],
  concurrency: 5,
  timeoutMs: 5_000,
});

describe("token pool", () => {
  it("serves 300 concurrent takers first come first served (a dropped late token aside), within the concurrency bound shared by two pools", async () => {
    const src = source(`pool-${crypto.randomUUID()}`);
    const pools = [new TokenPool(env, src, 150), new TokenPool(env, src, 150)];
    let inFlight = 0;
    let peak = 0;
    const order: number[][] = [[], []];
    const request = async (p: number, i: number) => {
      const pool = pools[p]!;
      expect(await pool.take()).not.toBeNull();
      order[p]!.push(i);
      inFlight++;
      peak = Math.max(peak, inFlight);
      await env.BUCKET.head("token-pool/request"); // the request: one real I/O, so others run meanwhile
      inFlight--;
      pool.done();
    };
    await Promise.all(Array.from({ length: 300 }, (_, n) => request(n % 2, n)));
    expect(order[0]).toHaveLength(150);
    expect(order[1]).toHaveLength(150);
    // First come, first served, but for a taker whose token came up too late to spend (dropped,
    // as the limiter spaced the next ones from its instant): it takes the next, a few places on
    // (a busy machine drops more: each drop may move it one place further).
    const displacement = (o: number[]) => Math.max(...o.map((v, rank) => Math.abs([...o].sort((a, b) => a - b).indexOf(v) - rank)));
    expect(displacement(order[0]!)).toBeLessThanOrEqual(src.concurrency + pools[0]!.dropped);
    expect(displacement(order[1]!)).toBeLessThanOrEqual(src.concurrency + pools[1]!.dropped);
    expect(peak).toBeLessThanOrEqual(5);
    await Promise.all(pools.map((p) => p.close()));
    expect((await limiterStub(env, src.name).snapshot()).inFlight).toBe(0);
  });

  it("serves takers that arrive one after another, each as the line empties (no taker is left waiting)", async () => {
    const src = source(`pool-${crypto.randomUUID()}`);
    const pool = new TokenPool(env, src, 1); // each lease is one token: every take waits in line
    for (let i = 0; i < 200; i++) {
      expect(await pool.take()).not.toBeNull();
      pool.done();
    }
    await pool.close();
  });
});
