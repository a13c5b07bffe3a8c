// The bronze raw of a batch of items (`{"items": [{"item", "pages"}, …], "dead": […]}`), written
// item by item as each item's pages are all in, in the order they finish, and spooled into R2
// past HOLD_BYTES: a batch holds the items in flight, not every item's pages and their JSON. An
// item that is gone (404/410) goes to the dead list alone. A batch that waits or fails part way
// keeps what it has in R2 (the same document); the next delivery copies those items into its raw
// as they stream back, checking each page again, and fetches only the rest.
import { bounded } from "../../src/concurrency";
import { jsonItems } from "../../src/parsers/json-items";
import { layout } from "../../src/r2/layout";
import { Spool } from "../../src/r2/spool";
import type { DeadItem } from "../../src/types";
import { TaskFailure } from "../../src/upstream/classify";
import type { UpstreamRequest } from "../../src/pipelines/define";
import { HOLD_BYTES } from "../../src/upstream/staged-body";
import { keepPartial, takeUp, utf8, type Where } from "./partial-raw";

const gone = (err: unknown): err is TaskFailure => err instanceof TaskFailure && (err.detail.status === 404 || err.detail.status === 410);

interface Items {
  items: { item: string; request: UpstreamRequest }[];
  concurrency: number;
  /** Every page of one item's request, and their rows. */
  fetchItem: (request: UpstreamRequest) => Promise<{ pages: string[]; rows: number }>;
  /** Parse a page kept by an earlier delivery again; its rows. */
  check: (page: Uint8Array) => Promise<number>;
  /** An item failed for good: the batch's other requests stop. */
  stop: () => void;
}

/** The batch's raw, its rows and dead items, and whether an earlier delivery's items were taken up. */
export async function itemsRaw(where: Where, { items, concurrency, fetchItem, check, stop }: Items) {
  const spool = new Spool(where.bucket, layout.stagedRaw(where.runId, where.batchId), HOLD_BYTES);
  // Writes one after another, whichever lane's item finished first.
  let writing: Promise<void> = spool.write(utf8('{"items":['));
  let first = true;
  const add = (entry: { item: string; pages: string[] }) => {
    const piece = utf8(`${first ? "" : ","}${JSON.stringify(entry)}`);
    first = false;
    return (writing = writing.then(() => spool.write(piece)));
  };
  const end = async (dead: DeadItem[]) => {
    await writing;
    await spool.write(utf8(`],"dead":${JSON.stringify(dead)}}`));
    return spool.finish();
  };
  let rows = 0;
  const dead: DeadItem[] = [];
  const done = new Set<string>();
  const resumed = await takeUp(where, spool, (earlier) =>
    copyItems(
      earlier,
      async (entry) => {
        for (const page of entry.pages) rows += await check(utf8(page));
        await add(entry);
        done.add(entry.item);
      },
      (d) => {
        dead.push(...d);
        for (const x of d) done.add(x.item);
      },
    ),
  );
  const before = done.size;
  try {
    await bounded(items, concurrency, async ({ item, request }) => {
      if (done.has(item)) return;
      try {
        const fetched = await fetchItem(request);
        rows += fetched.rows;
        await add({ item, pages: fetched.pages });
      } catch (err) {
        if (!gone(err)) {
          stop();
          throw err;
        }
        dead.push({ item, error: err.detail });
      }
      done.add(item);
    });
  } catch (err) {
    const permanent = err instanceof TaskFailure && err.detail.class === "permanent";
    const partial = !permanent && done.size > before ? await end(dead).catch(() => null) : null;
    if (partial) await keepPartial(where, partial);
    else await spool.abort();
    throw err;
  }
  return { body: await end(dead), rows, dead, resumed };
}

/** Each item of an earlier delivery's partial raw as it streams back, then its dead items. */
async function copyItems(
  partial: R2ObjectBody,
  onItem: (entry: { item: string; pages: string[] }) => Promise<void>,
  onDead: (dead: DeadItem[]) => void,
): Promise<void> {
  let root: unknown;
  for await (const entry of jsonItems(partial.body, "items", (r) => (root = r))) {
    const { item, pages } = (entry ?? {}) as { item?: unknown; pages?: unknown };
    if (typeof item !== "string" || !Array.isArray(pages) || !pages.every((p) => typeof p === "string")) throw new Error("an item without its pages");
    await onItem({ item, pages: pages as string[] });
  }
  const dead = (root as { dead?: unknown } | null)?.dead;
  if (!Array.isArray(dead)) throw new Error("no dead list");
  onDead(dead as DeadItem[]);
}

/** The dead items of a stored items raw, read as it streams (its items are parsed and let go). */
export async function deadOf(raw: R2ObjectBody): Promise<DeadItem[]> {
  let root: unknown;
  for await (const _ of jsonItems(raw.body, "items", (r) => (root = r)));
  const dead = (root as { dead?: unknown } | null)?.dead;
  return Array.isArray(dead) ? (dead as DeadItem[]) : [];
}
