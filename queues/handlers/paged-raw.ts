// The bronze raw of a paged batch (`{"pages": ["…", "…"]}`), written page by page as the pages
// land and spooled into R2 past HOLD_BYTES: a batch of a thousand pages holds one page and a part
// buffer, not every page and their JSON. A batch that waits or fails part way keeps what it has
// in R2, as the same document with the URL of the page to fetch next (`{"pages": […], "next":
// "…"}`); the next delivery copies those pages into its raw as they stream back, checking each
// again, and goes on from there.
import { jsonItems } from "../../src/parsers/json-items";
import { layout } from "../../src/r2/layout";
import { Spool } from "../../src/r2/spool";
import { TaskFailure } from "../../src/upstream/classify";
import { HOLD_BYTES } from "../../src/upstream/staged-body";
import { keepPartial, takeUp, utf8, type Where } from "./partial-raw";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Fetches the batch's pages from `from` on (`count` fetched before), handing each to `onPage`; returns their rows. */
export type FetchPages = (from: string, count: number, onPage: (body: Uint8Array, next: string | null) => Promise<void>) => Promise<number>;

/**
 * The batch's raw, its rows, and whether an earlier delivery's pages were taken up (the caller
 * deletes their partial raw once the raw is stored).
 */
export async function pagedRaw(where: Where, fetchPages: FetchPages, firstUrl: string, check: (page: Uint8Array) => Promise<number>) {
  const spool = new Spool(where.bucket, layout.stagedRaw(where.runId, where.batchId), HOLD_BYTES);
  let pages = 0;
  const add = (page: string) => spool.write(utf8(`${pages++ === 0 ? '{"pages":[' : ","}${JSON.stringify(page)}`));
  let rows = 0;
  let next: string | null = firstUrl;
  const resumed = await takeUp(where, spool, async (earlier) => {
    next = await copyPages(earlier, async (page) => {
      rows += await check(utf8(page));
      await add(page);
    });
  });
  const kept = pages;
  try {
    rows += await fetchPages(next, pages, async (body, after) => {
      await add(text(body));
      next = after;
    });
  } catch (err) {
    const permanent = err instanceof TaskFailure && err.detail.class === "permanent";
    if (!permanent && pages > kept && next !== null) {
      await spool.write(utf8(`],"next":${JSON.stringify(next)}}`));
      await keepPartial(where, await spool.finish());
    } else await spool.abort();
    throw err;
  }
  await spool.write(utf8("]}"));
  return { body: await spool.finish(), rows, resumed };
}

/** Each page of an earlier delivery's partial raw, as it streams back; returns the URL it stopped at. */
async function copyPages(partial: R2ObjectBody, onPage: (page: string) => Promise<void>): Promise<string> {
  let root: unknown;
  for await (const page of jsonItems(partial.body, "pages", (r) => (root = r))) {
    if (typeof page !== "string") throw new Error("a page that is not a string");
    await onPage(page);
  }
  const next = (root as { next?: unknown } | null)?.next;
  if (typeof next !== "string") throw new Error("no next page");
  return next;
}
