// ingest: GET the upstream, store the raw body under bronze/raw keyed by source partition.
// A partition already stored for a finished window (by any run) is not downloaded again unless
// the run forces it, and is never overwritten by a concurrent run; a window still open when it
// was fetched (today's data) is fetched again next time.
import { derivedInput } from "../../src/pipelines/derived";
import { readPublished } from "../../src/r2/done";
import { sha256Hex } from "../../src/hash";
import { layout } from "../../src/r2/layout";
import { TaskFailure, httpFailure, toTaskError } from "../../src/upstream/classify";
import { assertSameOrigin, authHeaders, fetchUpstream } from "../../src/upstream/fetch";
import { waitFromHeaders } from "../../src/upstream/retry-after";
import { boundedBody, MAX_RESPONSE_BYTES } from "../../src/upstream/body";
import { receiveBody, stagedChunks, storeStaged, type ReceivedBody } from "../../src/upstream/staged-body";
import { bounded } from "../../src/concurrency";
import type { DeadItem } from "../../src/types";
import { isItemsRaw, type ItemsRaw, type PagedRaw } from "../../src/upstream/pagination";
import { Deferred, type TaskContext, type TaskOutcome } from "./context";

const PAGE_ATTEMPTS = 4;
const RETRY_BUDGET_MS = 120_000;
const BACKOFF_BASE_MS = 250;
const BACKOFF_CAP_MS = 10_000;

/** A paginated batch's progress kept in R2: its pages so far and the next page's URL. */
function isResumable(value: unknown): value is { pages: string[]; next: string } {
  const v = value as { pages?: unknown; next?: unknown } | null;
  return typeof v === "object" && v !== null && Array.isArray(v.pages) && v.pages.every((p) => typeof p === "string") && typeof v.next === "string";
}

/** The task gave up (another lane failed): this lane stops without spending a token. */
class Stopped extends Error {
  constructor() {
    super("stopped: another request of this task failed");
    this.name = "Stopped";
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });

async function* oneChunk(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const utf8 = (s: string) => new TextEncoder().encode(s);

/** How a page's body is read once the upstream answered 2xx (held whole, or streamed to R2). */
type ReadBody<T> = (response: Response, url: string) => Promise<T>;

/** One rate-limited request: a token first, the permit back when it ends (not before). */
async function requestPage<T>(ctx: TaskContext, url: string, headers: Record<string, string>, signal: AbortSignal, read: ReadBody<T>): Promise<{ body: T; headers: Headers }> {
  const token = await ctx.tokens.take(signal);
  if (token === null) {
    if (signal.aborted) throw new Stopped();
    throw new Deferred(ctx.tokens.deferMs);
  }
  try {
    const response = await fetchUpstream(ctx.env, url, { headers, timeoutMs: ctx.pipeline.source.timeoutMs, signal });
    ctx.tokens.answered(token, response.status, response.headers);
    if (!response.ok) {
      const wait = waitFromHeaders(response.headers, Date.now());
      await response.body?.cancel();
      if (response.status === 429) await ctx.tokens.throttled(wait, token);
      throw httpFailure(response.status, url, wait);
    }
    return { body: await read(response, url), headers: response.headers };
  } finally {
    ctx.tokens.done();
  }
}

/**
 * One page, retried where it failed: a retryable failure (5xx, 429, timeout, a body that does
 * not parse) waits (backoff with full jitter, or what the upstream asked) and takes a new token,
 * while the task is within its retry budget; the pages fetched before it are kept.
 */
async function fetchPage<T>(
  ctx: TaskContext,
  url: string,
  headers: Record<string, string>,
  read: ReadBody<T>,
  check: (body: T) => Promise<number>,
  signal: AbortSignal,
  deadline: number,
) {
  const attempts = ctx.pipeline.source.retry?.attempts ?? PAGE_ATTEMPTS;
  for (let attempt = 1; ; attempt++) {
    try {
      const page = await requestPage(ctx, url, headers, signal, read);
      return { ...page, rows: await check(page.body) };
    } catch (err) {
      if (err instanceof Deferred || err instanceof Stopped || signal.aborted) throw err;
      const error = toTaskError(err);
      const backoff = Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
      const asked = err instanceof TaskFailure ? (err.retryAfterMs ?? 0) : 0;
      const wait = Math.max(backoff, asked);
      if (error.class !== "retryable" || attempt >= attempts || Date.now() + wait > deadline) throw err;
      await pause(wait, signal);
      if (signal.aborted) throw new Stopped();
    }
  }
}

/**
 * A derived pipeline downloads nothing: its batch names the upstream's published object, which is
 * checked to be still published with the same bytes (its sha256) and passed on as the task's output.
 */
async function ingestDerived(env: TaskContext["env"], data: Record<string, unknown>): Promise<TaskOutcome> {
  const input = derivedInput(data);
  const [object, marker] = await Promise.all([env.BUCKET.head(input.key), readPublished(env.BUCKET, input.key)]);
  if (!object || !marker || marker.sha256 !== input.sha256)
    throw new TaskFailure({ type: "input_changed", message: `${input.key} is no longer the published version this run planned`, class: "permanent" });
  return { output: { key: input.key, rows: input.rows, bytes: object.size, sha256: input.sha256 }, reused: true };
}

export async function ingest(ctx: TaskContext): Promise<TaskOutcome> {
  const { env, pipeline, message } = ctx;
  if (message.input.kind !== "ingest") throw new Error("not an ingest task");
  const batch = message.input.batch;
  if (pipeline.derived) return ingestDerived(env, batch.data);
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
  // When a request fails the task for good, the task's other requests stop: no token is taken
  // and no request sent after it, and each permit goes back when its own request has ended.
  const stop = new AbortController();
  const deadline = Date.now() + (pipeline.source.retry?.budgetMs ?? RETRY_BUDGET_MS);
  const max = pipeline.source.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  const holdWhole: ReadBody<Uint8Array> = (response, url) => boundedBody(response, max, url);
  const unparsable = (bytes: number, err: unknown) =>
    new TaskFailure({
      type: "unparsable_body",
      message: `upstream body for ${batch.partition} does not parse (${bytes} bytes): ${err instanceof Error ? err.message : String(err)}`,
      class: "retryable",
    });
  const countStreamed = async (parseStream: NonNullable<typeof pipeline.parseStream>, chunks: AsyncIterable<Uint8Array>) => {
    let rows = 0;
    for await (const piece of parseStream(chunks, batch)) for (const _ of piece) rows++;
    return rows;
  };
  /** Each page is parsed once here (by the parser refine will use), so a truncated body is retried, not stored. */
  const check = async (body: Uint8Array): Promise<number> => {
    try {
      if (pipeline.parseStream) return await countStreamed(pipeline.parseStream, oneChunk(body));
      let rows = 0;
      for (const _ of pipeline.parse(text(body), batch)) rows++;
      return rows;
    } catch (err) {
      throw unparsable(body.length, err);
    }
  };
  /** Every page of one request. */
  /**
   * Every page of one request, from `resume` (pages an earlier delivery fetched, and the URL of
   * the next) when given; `progress` sees each page as it lands, so a wait can keep them.
   */
  const fetchAll = async (
    request: { url: string; headers?: Record<string, string> },
    resume?: { pages: string[]; next: string },
    progress?: (pages: Uint8Array[], next: string | null) => void,
  ) => {
    const headers = { ...request.headers, ...auth };
    const pages = (resume?.pages ?? []).map(utf8);
    let rows = 0;
    for (const p of pages) rows += await check(p);
    for (let url: string | null = resume?.next ?? request.url; url !== null;) {
      if (pages.length >= pipeline.maxPages) {
        throw new TaskFailure({ type: "too_many_pages", message: `${batch.partition}: more than ${pipeline.maxPages} pages`, class: "permanent" });
      }
      const page: { body: Uint8Array; headers: Headers; rows: number } = await fetchPage(ctx, url, headers, holdWhole, check, stop.signal, deadline);
      rows += page.rows;
      pages.push(page.body);
      const next: string | null = pipeline.paginate ? pipeline.paginate({ url, body: text(page.body), headers: page.headers }) : null;
      if (next !== null) assertSameOrigin(request.url, next, "the next page");
      progress?.(pages, next);
      url = next;
    }
    return { pages, rows };
  };

  let body: ReceivedBody;
  let rows = 0;
  const deadItems: DeadItem[] = [];
  if (pipeline.items) {
    // Several items per batch: an item that is gone (404/410) goes to the dead list alone. Items
    // fetched by an earlier delivery that waited or failed are kept in R2 and not fetched again.
    const items = pipeline.items(batch);
    const partialKey = layout.partialRaw(message.runId, batch.id);
    const earlier: unknown = message.force ? null : await (await env.BUCKET.get(partialKey))?.json();
    const kept = new Map<string, { pages: string[] } | { dead: DeadItem["error"] }>();
    if (isItemsRaw(earlier)) {
      for (const f of earlier.items) kept.set(f.item, { pages: f.pages });
      for (const d of earlier.dead) kept.set(d.item, { dead: d.error });
    }
    const fetched: ({ item: string; pages: string[] } | undefined)[] = new Array(items.length);
    const checkpoint = () =>
      env.BUCKET.put(partialKey, JSON.stringify({ items: fetched.filter((f) => f !== undefined), dead: deadItems } satisfies ItemsRaw), {
        httpMetadata: { contentType: "application/json" },
      });
    try {
      await bounded(items, pipeline.source.concurrency, async ({ item, request }, i) => {
        const before = kept.get(item);
        if (before && "pages" in before) {
          fetched[i] = { item, pages: before.pages };
          for (const p of before.pages) rows += await check(utf8(p));
          return;
        }
        if (before) return void deadItems.push({ item, error: before.dead });
        try {
          const r = await fetchAll(request);
          fetched[i] = { item, pages: r.pages.map(text) };
          rows += r.rows;
        } catch (err) {
          if (err instanceof TaskFailure && (err.detail.status === 404 || err.detail.status === 410)) deadItems.push({ item, error: err.detail });
          else {
            stop.abort();
            throw err;
          }
        }
      });
    } catch (err) {
      const permanent = err instanceof TaskFailure && err.detail.class === "permanent";
      if (!permanent && fetched.some((f) => f !== undefined && !kept.has(f.item))) await checkpoint();
      throw err;
    }
    body = { held: utf8(JSON.stringify({ items: fetched.filter((f) => f !== undefined), dead: deadItems } satisfies ItemsRaw)) };
  } else if (pipeline.parseStream) {
    // One body for a parser that reads it as it streams (parseStream excludes pages and items):
    // a large one goes through R2 as it arrives and is checked from there, never held whole.
    const request = pipeline.request(batch);
    const parseStream = pipeline.parseStream;
    const receive: ReadBody<ReceivedBody> = (response, url) => receiveBody(response, { max, url, bucket: env.BUCKET, key: layout.stagedRaw(message.runId, batch.id) });
    const checkReceived = async (received: ReceivedBody): Promise<number> => {
      if ("held" in received) return check(received.held);
      try {
        return await countStreamed(parseStream, stagedChunks(env.BUCKET, received.staged.key));
      } catch (err) {
        await env.BUCKET.delete(received.staged.key);
        throw unparsable(received.staged.bytes, err);
      }
    };
    const page = await fetchPage(ctx, request.url, { ...request.headers, ...auth }, receive, checkReceived, stop.signal, deadline);
    body = page.body;
    rows = page.rows;
  } else {
    // A paginated batch that waits or fails part way keeps its pages and the next page's URL in
    // R2: the next delivery goes on from there.
    const partialKey = layout.partialRaw(message.runId, batch.id);
    const earlier: unknown = pipeline.paginate && !message.force ? await (await env.BUCKET.get(partialKey))?.json() : null;
    const resume = isResumable(earlier) ? earlier : undefined;
    let reached: { pages: Uint8Array[]; next: string } | undefined;
    let r: { pages: Uint8Array[]; rows: number };
    try {
      r = await fetchAll(pipeline.request(batch), resume, (pages, next) => (reached = next === null ? undefined : { pages: [...pages], next }));
    } catch (err) {
      const permanent = err instanceof TaskFailure && err.detail.class === "permanent";
      if (!permanent && reached && reached.pages.length > (resume?.pages.length ?? 0)) {
        await env.BUCKET.put(partialKey, JSON.stringify({ pages: reached.pages.map(text), next: reached.next }), { httpMetadata: { contentType: "application/json" } });
      }
      throw err;
    }
    if (resume) await env.BUCKET.delete(partialKey);
    rows = r.rows;
    // One page is stored as the upstream sent it; several as { pages: [...] } for refine to parse one by one.
    body = { held: pipeline.paginate ? utf8(JSON.stringify({ pages: r.pages.map(text) } satisfies PagedRaw)) : r.pages[0]! };
  }
  const contentType = "application/json";
  const sha256 = "held" in body ? await sha256Hex(body.held) : body.staged.sha256;
  const bytes = "held" in body ? body.held.length : body.staged.bytes;
  const window = pipeline.batchWindow(batch);
  const complete = !window || window.end <= Date.now();
  // Write once: only a forced run or an open window's refresh replaces an existing object.
  const replace = existing !== null && (message.force === true || !finishedWhenFetched);
  const options: R2PutOptions = {
    httpMetadata: { contentType },
    customMetadata: { sha256, rows: String(rows), complete: String(complete), fetchedAt: new Date().toISOString() },
    ...(replace ? {} : { onlyIf: { etagDoesNotMatch: "*" } }),
  };
  const written = "held" in body ? await env.BUCKET.put(key, body.held, { ...options, sha256 }) : await storeStaged(env.BUCKET, body.staged, key, options);
  if (pipeline.items) await env.BUCKET.delete(layout.partialRaw(message.runId, batch.id));
  if (!written) {
    const winner = stored(await env.BUCKET.head(key));
    if (winner) return { ...winner, deadItems };
    throw new Error(`bronze raw ${key} exists but has no sha256 metadata`);
  }
  return { output: { key, rows, bytes, sha256 }, reused: false, deadItems };
}
