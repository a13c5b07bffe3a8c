// A partial raw the next delivery cannot take up (cut short, not the document sluice writes, or
// missing where to go on from): the task fails retryably as bad_partial_raw, the partial and
// anything spooled from it are dropped, and the delivery after starts the batch over, whole.
import { describe, expect, it } from "vitest";
import { itemsRaw } from "../../queues/handlers/items-raw";
import { pagedRaw, type FetchPages } from "../../queues/handlers/paged-raw";
import { partialKey, utf8, type Where } from "../../queues/handlers/partial-raw";
import { HOLD_BYTES } from "../../src/upstream/staged-body";
import { env } from "../helpers";

const where = (): Where => ({ bucket: env.BUCKET, runId: `partial-${crypto.randomUUID()}`, batchId: "batch-1", force: false });

/** Pages "p1" to "p3", each `{"n": k}`; the calls made (from, count before). */
function upstream() {
  const calls: [string, number][] = [];
  const fetchPages: FetchPages = async (from, count, onPage) => {
    calls.push([from, count]);
    let rows = 0;
    for (let k = Number(from.slice(1)); k <= 3; k++, rows++) await onPage(utf8(JSON.stringify({ n: k })), k < 3 ? `p${k + 1}` : null);
    return rows;
  };
  return { calls, fetchPages };
}
const check = async () => 1;

/** What a run's prefix holds: the partial or a staging object left would show here. */
const keysOf = async (w: Where) => (await env.BUCKET.list({ prefix: `runs/${w.runId}/` })).objects.map((o) => o.key);
const text = (body: { held?: Uint8Array }) => new TextDecoder().decode(body.held);

describe("a partial raw the next delivery cannot take up", () => {
  const long = JSON.stringify("x".repeat(HOLD_BYTES / 4)); // four of these pages spool to R2
  const bad: Record<string, string> = {
    "cut short": `{"pages":[${JSON.stringify('{"n":1}')},`,
    "a page that is not a string": '{"pages":[{"n":1}],"next":"p2"}',
    "no next page": `{"pages":[${JSON.stringify('{"n":1}')}]}`,
    "cut short after spooling": `{"pages":[${Array(6).fill(long).join(",")},"{\\"n`,
  };
  for (const [name, partial] of Object.entries(bad)) {
    it(`paged, ${name}: bad_partial_raw, nothing left, and the next delivery fetches every page`, async () => {
      const w = where();
      await env.BUCKET.put(partialKey(w), partial);
      const { calls, fetchPages } = upstream();
      await expect(pagedRaw(w, fetchPages, "p1", check)).rejects.toMatchObject({ detail: { type: "bad_partial_raw", class: "retryable" } });
      expect(calls).toEqual([]);
      expect(await keysOf(w)).toEqual([]);
      const again = await pagedRaw(w, fetchPages, "p1", check);
      expect(calls).toEqual([["p1", 0]]);
      expect(again.resumed).toBe(false);
      expect(JSON.parse(text(again.body as { held: Uint8Array }))).toEqual({ pages: ['{"n":1}', '{"n":2}', '{"n":3}'] });
    });
  }

  it("paged, a partial as sluice writes it: taken up, the rest fetched from where it stopped", async () => {
    const w = where();
    await env.BUCKET.put(partialKey(w), `{"pages":[${JSON.stringify('{"n":1}')}],"next":"p2"}`);
    const { calls, fetchPages } = upstream();
    const raw = await pagedRaw(w, fetchPages, "p1", check);
    expect(calls).toEqual([["p2", 1]]);
    expect(raw.resumed).toBe(true);
    expect(JSON.parse(text(raw.body as { held: Uint8Array }))).toEqual({ pages: ['{"n":1}', '{"n":2}', '{"n":3}'] });
  });

  const items = ["a", "b"].map((item) => ({ item, request: { url: `https://upstream.invalid/${item}` } }));
  const badItems: Record<string, string> = {
    "an item without its pages": '{"items":[{"item":"a"}],"dead":[]}',
    "no dead list": `{"items":[{"item":"a","pages":[${JSON.stringify('{"n":1}')}]}]}`,
    "cut short": '{"items":[{"item":"a","pa',
  };
  for (const [name, partial] of Object.entries(badItems)) {
    it(`items, ${name}: bad_partial_raw, nothing left, and the next delivery fetches every item`, async () => {
      const w = where();
      await env.BUCKET.put(partialKey(w), partial);
      const fetched: string[] = [];
      const batch = {
        items,
        concurrency: 2,
        fetchItem: async (request: { url: string }) => {
          fetched.push(request.url.slice(-1));
          return { pages: [JSON.stringify({ item: request.url.slice(-1) })], rows: 1 };
        },
        check,
        stop: () => undefined,
      };
      await expect(itemsRaw(w, batch)).rejects.toMatchObject({ detail: { type: "bad_partial_raw", class: "retryable" } });
      expect(fetched).toEqual([]);
      expect(await keysOf(w)).toEqual([]);
      const again = await itemsRaw(w, batch);
      expect(fetched.sort()).toEqual(["a", "b"]);
      expect(again.rows).toBe(2);
      const doc = JSON.parse(text(again.body as { held: Uint8Array })) as { items: { item: string }[]; dead: unknown[] };
      expect(doc.items.map((i) => i.item).sort()).toEqual(["a", "b"]);
      expect(doc.dead).toEqual([]);
    });
  }
});
