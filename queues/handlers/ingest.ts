// ingest: GET the upstream, store the raw body under bronze/raw keyed by source partition.
// A partition already stored for a finished window (by any run) is not downloaded again unless
// the run forces it, and is never overwritten by a concurrent run; a window still open when it
// was fetched (today's data) is fetched again next time.
import { sha256Hex } from "../../src/hash";
import { layout } from "../../src/r2/layout";
import { TaskFailure, httpFailure } from "../../src/upstream/classify";
import { authHeaders, fetchUpstream } from "../../src/upstream/fetch";
import { bounded } from "../../src/concurrency";
import type { DeadItem } from "../../src/types";
import { isItemsRaw, type ItemsRaw, type PagedRaw } from "../../src/upstream/pagination";
import { Deferred, type TaskContext, type TaskOutcome } from "./context";

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

/** One rate-limited request: a token first, the permit back when it ends. */
async function fetchPage(ctx: TaskContext, url: string, headers: Record<string, string>): Promise<{ body: string; headers: Headers; contentType: string }> {
  if (!(await ctx.tokens.take())) throw new Deferred(ctx.tokens.deferMs);
  try {
    const response = await fetchUpstream(ctx.env, url, { headers, timeoutMs: ctx.pipeline.source.timeoutMs });
    if (!response.ok) {
      const wait = retryAfterMs(response.headers.get("retry-after"));
      await response.body?.cancel();
      if (response.status === 429) await ctx.tokens.throttled(wait);
      throw httpFailure(response.status, url, wait);
    }
    return { body: await response.text(), headers: response.headers, contentType: response.headers.get("content-type") ?? "application/json" };
  } finally {
    ctx.tokens.done();
  }
}

export async function ingest(ctx: TaskContext): Promise<TaskOutcome> {
  const { env, pipeline, message } = ctx;
  if (message.input.kind !== "ingest") throw new Error("not an ingest task");
  const batch = message.input.batch;
  const key = layout.bronzeRaw(pipeline.source.name, batch.partition);

  const stored = (object: R2Object | null): TaskOutcome | null => {
    const meta = object?.customMetadata;
    if (!object || !meta?.sha256 || meta.rows === undefined) return null;
    return { output: { key, rows: Number(meta.rows), bytes: object.size, sha256: meta.sha256 }, reused: true };
  };
  const existing = await env.BUCKET.head(key);
  const finishedWhenFetched = existing?.customMetadata?.complete !== "false";
  const reusable = stored(existing);
  if (reusable && finishedWhenFetched && !message.force) {
    if (!pipeline.items) return reusable;
    const raw: unknown = await (await env.BUCKET.get(key))?.json();
    return { ...reusable, deadItems: isItemsRaw(raw) ? raw.dead : [] };
  }

  const auth = authHeaders(env, pipeline.source.auth);
  /** Every page of one request; each parsed once here, so a truncated body is retried, not stored. */
  const fetchAll = async (request: { url: string; headers?: Record<string, string> }) => {
    const headers = { ...request.headers, ...auth };
    const pages: string[] = [];
    let rows = 0;
    for (let url: string | null = request.url; url !== null;) {
      if (pages.length >= pipeline.maxPages) {
        throw new TaskFailure({ type: "too_many_pages", message: `${batch.partition}: more than ${pipeline.maxPages} pages`, class: "permanent" });
      }
      const page = await fetchPage(ctx, url, headers);
      try {
        rows += pipeline.parse(page.body, batch).length;
      } catch (err) {
        throw new TaskFailure({
          type: "unparsable_body",
          message: `upstream body for ${batch.partition} does not parse (${page.body.length} bytes): ${err instanceof Error ? err.message : String(err)}`,
          class: "retryable",
        });
      }
      pages.push(page.body);
      url = pipeline.paginate ? pipeline.paginate({ url, body: page.body, headers: page.headers }) : null;
    }
    return { pages, rows };
  };

  let body: string;
  let rows = 0;
  const deadItems: DeadItem[] = [];
  if (pipeline.items) {
    // Several items per batch: an item that is gone (404/410) goes to the dead list alone.
    const items = pipeline.items(batch);
    const fetched: ({ item: string; pages: string[] } | undefined)[] = new Array(items.length);
    await bounded(items, pipeline.source.concurrency, async ({ item, request }, i) => {
      try {
        const r = await fetchAll(request);
        fetched[i] = { item, pages: r.pages };
        rows += r.rows;
      } catch (err) {
        if (err instanceof TaskFailure && (err.detail.status === 404 || err.detail.status === 410)) deadItems.push({ item, error: err.detail });
        else throw err;
      }
    });
    body = JSON.stringify({ items: fetched.filter((f) => f !== undefined), dead: deadItems } satisfies ItemsRaw);
  } else {
    const r = await fetchAll(pipeline.request(batch));
    rows = r.rows;
    // One page is stored as the upstream sent it; several as { pages: [...] } for refine to parse one by one.
    body = pipeline.paginate ? JSON.stringify({ pages: r.pages } satisfies PagedRaw) : r.pages[0]!;
  }
  const contentType = "application/json";
  const bytes = new TextEncoder().encode(body);
  const sha256 = await sha256Hex(bytes);
  const window = pipeline.batchWindow(batch);
  const complete = !window || window.end <= Date.now();
  // Write once: only a forced run or an open window's refresh replaces an existing object.
  const replace = existing !== null && (message.force === true || !finishedWhenFetched);
  const written = await env.BUCKET.put(key, bytes, {
    httpMetadata: { contentType },
    customMetadata: { sha256, rows: String(rows), complete: String(complete), fetchedAt: new Date().toISOString() },
    sha256,
    ...(replace ? {} : { onlyIf: { etagDoesNotMatch: "*" } }),
  });
  if (!written) {
    const winner = stored(await env.BUCKET.head(key));
    if (winner) return { ...winner, deadItems };
    throw new Error(`bronze raw ${key} exists but has no sha256 metadata`);
  }
  return { output: { key, rows, bytes: bytes.length, sha256 }, reused: false, deadItems };
}
