// The multipart sink every large object streams through (spooled raws, staged bodies, merges):
// what it stores is exactly what was written, in one put or in equal parts, and it holds a buffer
// the size of what it has, not a whole part, until the bytes call for one.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { sha256Hex as sha256 } from "../../src/hash";
import { MIN_PART_SIZE, R2Sink } from "../../src/r2/multipart-sink";

/** `n` bytes of a pattern no two parts share, written in pieces of `piece` bytes. */
async function fill(sink: R2Sink, n: number, piece: number): Promise<Uint8Array> {
  const all = new Uint8Array(n);
  for (let i = 0; i < n; i++) all[i] = (i * 31 + (i >> 13)) & 0xff;
  for (let at = 0; at < n; at += piece) await sink.write(all.slice(at, Math.min(n, at + piece)));
  return all;
}

describe("R2Sink", () => {
  it("holds a buffer of about what it was given: 1.5 MiB in 2 MiB, stored in one put", async () => {
    const key = `sink/${crypto.randomUUID()}`;
    const sink = new R2Sink(env.BUCKET, key);
    const written = await fill(sink, 1_572_864, 65_536);
    expect(sink.bufferBytes).toBe(2 * 1024 * 1024);
    const result = await sink.finish();
    expect(result).toEqual({ bytes: written.length, sha256: await sha256(written), parts: 1 });
    expect(new Uint8Array(await (await env.BUCKET.get(key))!.arrayBuffer())).toEqual(written);
  });

  it("grows to a whole part and no further: 12 MiB in pieces of odd sizes, stored in three parts", async () => {
    const key = `sink/${crypto.randomUUID()}`;
    const sink = new R2Sink(env.BUCKET, key);
    const written = await fill(sink, 12 * 1024 * 1024 + 17, 1_000_003);
    expect(sink.bufferBytes).toBe(MIN_PART_SIZE);
    const result = await sink.finish();
    expect(result).toEqual({ bytes: written.length, sha256: await sha256(written), parts: 3 });
    expect(new Uint8Array(await (await env.BUCKET.get(key))!.arrayBuffer())).toEqual(written);
  });
});
