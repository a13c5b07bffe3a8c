// ingest: GET the upstream, store the raw body under bronze/raw keyed by source partition.
// A partition already stored (by any run) is not downloaded again unless the run forces it.
import { sha256Hex } from "../../src/hash";
import { layout } from "../../src/r2/layout";
import { TaskFailure, httpFailure } from "../../src/upstream/classify";
import { fetchUpstream } from "../../src/upstream/fetch";
import { Deferred, type TaskContext, type TaskOutcome } from "./context";

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

export async function ingest(ctx: TaskContext): Promise<TaskOutcome> {
  const { env, pipeline, message } = ctx;
  if (message.input.kind !== "ingest") throw new Error("not an ingest task");
  const batch = message.input.batch;
  const key = layout.bronzeRaw(pipeline.source.name, batch.partition);

  const existing = await env.BUCKET.head(key);
  const meta = existing?.customMetadata;
  if (existing && meta?.sha256 && meta.rows !== undefined) {
    return { output: { key, rows: Number(meta.rows), bytes: existing.size, sha256: meta.sha256 }, reused: true };
  }

  if (!(await ctx.tokens.take())) throw new Deferred(ctx.tokens.deferMs);
  const request = pipeline.request(batch);
  let body: string;
  let contentType: string;
  try {
    const response = await fetchUpstream(env, request.url, { headers: request.headers, timeoutMs: pipeline.source.timeoutMs });
    if (!response.ok) {
      const wait = retryAfterMs(response.headers.get("retry-after"));
      await response.body?.cancel();
      if (response.status === 429) await ctx.tokens.throttled(wait);
      throw httpFailure(response.status, request.url, wait);
    }
    contentType = response.headers.get("content-type") ?? "application/json";
    body = await response.text();
  } finally {
    ctx.tokens.done();
  }
  let rows: number;
  try {
    rows = pipeline.parse(body, batch).length;
  } catch (err) {
    throw new TaskFailure({ type: "unparsable_body", message: `upstream body for ${batch.partition} does not parse (${body.length} bytes): ${err instanceof Error ? err.message : String(err)}`, class: "retryable" });
  }
  const bytes = new TextEncoder().encode(body);
  const sha256 = await sha256Hex(bytes);
  await env.BUCKET.put(key, bytes, {
    httpMetadata: { contentType },
    customMetadata: { sha256, rows: String(rows), fetchedAt: new Date().toISOString() },
    sha256,
  });
  return { output: { key, rows, bytes: bytes.length, sha256 }, reused: false };
}
