// The spool a batch's bronze raw is written through: whatever its size, it holds about `holdBytes`
// in memory, and what it stores is exactly what was written, with no chunk object left behind.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { sha256Hex as sha256 } from "../../src/hash";
import { Spool } from "../../src/r2/spool";

const MiB = 1024 * 1024;

/** `n` bytes of a pattern that differs per `seed`, written in pieces of `piece` bytes (fresh arrays: the spool keeps them). */
async function fill(spool: Spool, n: number, piece: number, seed = 0): Promise<Uint8Array> {
  const all = new Uint8Array(n);
  for (let i = 0; i < n; i++) all[i] = (i * 31 + (i >> 13) + seed) & 0xff;
  for (let at = 0; at < n; at += piece) await spool.write(all.slice(at, Math.min(n, at + piece)));
  return all;
}

/** Every object whose key starts with `prefix`. */
async function keysUnder(prefix: string): Promise<string[]> {
  return (await env.BUCKET.list({ prefix })).objects.map((o) => o.key);
}

async function stored(key: string): Promise<Uint8Array> {
  return new Uint8Array(await (await env.BUCKET.get(key))!.arrayBuffer());
}

describe("Spool", () => {
  it("holds what stays within holdBytes and writes nothing to R2", async () => {
    const key = `spool/${crypto.randomUUID()}`;
    const spool = new Spool(env.BUCKET, key, MiB);
    const written = await fill(spool, MiB, 65_536);
    expect(await spool.finish()).toEqual({ held: written });
    expect(await keysUnder(key)).toEqual([]);
  });

  it("stores 3.5 MiB in one put holding 1 MiB at most, and leaves no chunk", async () => {
    const key = `spool/${crypto.randomUUID()}`;
    const spool = new Spool(env.BUCKET, key, MiB);
    const written = await fill(spool, 3.5 * MiB, 65_536);
    expect(spool.peakHeldBytes).toBeLessThanOrEqual(MiB + 65_536);
    expect(await spool.finish()).toEqual({ staged: { key, bytes: written.length, sha256: await sha256(written) } });
    expect(await stored(key)).toEqual(written);
    expect(await keysUnder(key)).toEqual([key]);
  });

  it("stores 12 MiB and 17 bytes in parts, from pieces of odd sizes, holding one piece past 1 MiB at most", async () => {
    const key = `spool/${crypto.randomUUID()}`;
    const spool = new Spool(env.BUCKET, key, MiB);
    const written = await fill(spool, 12 * MiB + 17, 1_000_003);
    expect(spool.peakHeldBytes).toBeLessThanOrEqual(MiB + 1_000_003);
    expect(await spool.finish()).toEqual({ staged: { key, bytes: written.length, sha256: await sha256(written) } });
    expect(await stored(key)).toEqual(written);
    expect(await keysUnder(key)).toEqual([key]);
  });

  it("stores an exact number of parts (10 MiB) without an empty last part", async () => {
    const key = `spool/${crypto.randomUUID()}`;
    const spool = new Spool(env.BUCKET, key, MiB);
    const written = await fill(spool, 10 * MiB, MiB / 4);
    expect(await spool.finish()).toEqual({ staged: { key, bytes: written.length, sha256: await sha256(written) } });
    expect(await stored(key)).toEqual(written);
    expect(await keysUnder(key)).toEqual([key]);
  });

  it("leaves nothing under the key when aborted after a part and two chunks", async () => {
    const key = `spool/${crypto.randomUUID()}`;
    const spool = new Spool(env.BUCKET, key, MiB);
    await fill(spool, 7.5 * MiB, 65_536);
    expect((await keysUnder(key)).length).toBe(2); // the two chunks past the first part
    await spool.abort();
    expect(await keysUnder(key)).toEqual([]);
    expect(await env.BUCKET.head(key)).toBeNull();
  });

  it("keeps two spools of one key apart: each stores its own bytes, whole", async () => {
    const key = `spool/${crypto.randomUUID()}`;
    const a = new Spool(env.BUCKET, key, MiB);
    const b = new Spool(env.BUCKET, key, MiB);
    // Written in turns, so each one's chunks are in R2 while the other cuts its own.
    const both = await Promise.all([fill(a, 6 * MiB + 5, 300_007, 1), fill(b, 6 * MiB + 5, 300_007, 2)]);
    expect(await a.finish()).toMatchObject({ staged: { sha256: await sha256(both[0]) } });
    expect(await stored(key)).toEqual(both[0]);
    expect(await b.finish()).toMatchObject({ staged: { sha256: await sha256(both[1]) } });
    expect(await stored(key)).toEqual(both[1]);
    expect(await keysUnder(key)).toEqual([key]);
  });
});
