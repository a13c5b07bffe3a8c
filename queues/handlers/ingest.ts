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
import { receiveBody, stagedChunks, storeStaged } from "../../src/upstream/staged-body";
import type { Spooled } from "../../src/r2/spool";
import type { DeadItem } from "../../src/types";
import type { UpstreamRequest } from "../../src/pipelines/define";
import { Deferred, type TaskContext, type TaskOutcome } from "./context";
import { itemsRaw, deadOf } from "./items-raw";
import { pagedRaw } from "./paged-raw";

const PAGE_ATTEMPTS = 4;
const RETRY_BUDGET_MS = 120_000;
const BACKOFF_BASE_MS = 250;
const BACKOFF_CAP_MS = 10_000;

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
    // Its dead items, read as the raw streams (none to read when its metadata says so).
    if (!pipeline.items || existing?.customMetadata?.dead === "0") return reusable;
    const raw = await env.BUCKET.get(key);
    return { ...reusable, deadItems: raw ? await deadOf(raw) : [] };
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
  /**
   * Every page of one request from `from` on (`count` of its pages fetched before), each handed to
   * `onPage` as it lands with the URL of the next (null after the last). Returns the rows parsed.
   */
  const fetchAll = async (
    request: { url: string; headers?: Record<string, string> },
    from: string,
    count: number,
    onPage: (body: Uint8Array, next: string | null) => Promise<void>,
  ): Promise<number> => {
    const headers = { ...request.headers, ...auth };
    let rows = 0;
    // The pages of this walk: a next page among them is a cursor going round, not more data.
    const fetched = new Set<string>();
    for (let url: string | null = from; url !== null; count++) {
      if (count >= pipeline.maxPages) {
        throw new TaskFailure({ type: "too_many_pages", message: `${batch.partition}: more than ${pipeline.maxPages} pages`, class: "permanent" });
      }
      fetched.add(url);
      const page: { body: Uint8Array; headers: Headers; rows: number } = await fetchPage(ctx, url, headers, holdWhole, check, stop.signal, deadline);
      rows += page.rows;
      const next: string | null = pipeline.paginate ? pipeline.paginate({ url, body: text(page.body), headers: page.headers }) : null;
      if (next !== null) assertSameOrigin(request.url, next, "the next page");
      if (next !== null && fetched.has(next)) {
        const { origin, pathname } = new URL(next); // the query left out: it may carry a key
        const message = `${batch.partition}: page ${count + 1} of ${origin}${pathname} names a page fetched before as the next: its cursor goes round`;
        throw new TaskFailure({ type: "pagination_loop", message, class: "permanent" });
      }
      await onPage(page.body, next);
      url = next;
    }
    return rows;
  };

  let body: Spooled;
  let rows = 0;
  /** Whether an earlier delivery's pages were taken up (its partial raw goes once this one is stored). */
  let resumed = false;
  const deadItems: DeadItem[] = [];
  if (pipeline.items) {
    const fetchItem = async (request: UpstreamRequest) => {
      const pages: string[] = [];
      const n = await fetchAll(request, request.url, 0, async (page) => void pages.push(text(page)));
      return { pages, rows: n };
    };
    const where = { bucket: env.BUCKET, runId: message.runId, batchId: batch.id, force: message.force === true };
    const items = pipeline.items(batch);
    let dead: DeadItem[];
    ({ body, rows, dead, resumed } = await itemsRaw(where, { items, concurrency: pipeline.source.concurrency, fetchItem, check, stop: () => stop.abort() }));
    deadItems.push(...dead);
  } else if (pipeline.parseStream) {
    // One body for a parser that reads it as it streams (parseStream excludes pages and items):
    // a large one goes through R2 as it arrives and is checked from there, never held whole.
    const request = pipeline.request(batch);
    const parseStream = pipeline.parseStream;
    const receive: ReadBody<Spooled> = (response, url) => receiveBody(response, { max, url, bucket: env.BUCKET, key: layout.stagedRaw(message.runId, batch.id) });
    const checkReceived = async (received: Spooled): Promise<number> => {
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
  } else if (pipeline.paginate) {
    const request = pipeline.request(batch);
    const where = { bucket: env.BUCKET, runId: message.runId, batchId: batch.id, force: message.force === true };
    ({ body, rows, resumed } = await pagedRaw(where, (from, count, onPage) => fetchAll(request, from, count, onPage), request.url, check));
  } else {
    // One page, parsed whole: stored as the upstream sent it.
    const request = pipeline.request(batch);
    let page: Uint8Array | undefined;
    rows = await fetchAll(request, request.url, 0, async (p) => void (page = p));
    body = { held: page ?? new Uint8Array(0) };
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
    customMetadata: { sha256, rows: String(rows), dead: String(deadItems.length), complete: String(complete), fetchedAt: new Date().toISOString() },
    ...(replace ? {} : { onlyIf: { etagDoesNotMatch: "*" } }),
  };
  const written = "held" in body ? await env.BUCKET.put(key, body.held, { ...options, sha256 }) : await storeStaged(env.BUCKET, body.staged, key, options);
  if (pipeline.items || resumed) await env.BUCKET.delete(layout.partialRaw(message.runId, batch.id));
  if (!written) {
    const winner = stored(await env.BUCKET.head(key));
    if (winner) return { ...winner, deadItems };
    throw new Error(`bronze raw ${key} exists but has no sha256 metadata`);
  }
  return { output: { key, rows, bytes, sha256 }, reused: false, deadItems };
}
