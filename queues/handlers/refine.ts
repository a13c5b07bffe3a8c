// refine: bronze raw JSON → bronze refined Parquet (the parser's rows, nothing validated yet),
// written a row group at a time.
import { readDone } from "../../src/r2/done";
import { layout } from "../../src/r2/layout";
import { rowGroups } from "../../src/parquet/row-groups";
import { rowGroupWriter } from "../../src/parquet/write-parts";
import type { Row } from "../../src/arrow/columns";
import type { BatchSpec } from "../../src/types";
import { TaskFailure } from "../../src/upstream/classify";
import { jsonItems } from "../../src/parsers/json-items";
import type { TaskContext, TaskOutcome } from "./context";

const badRaw = (message: string) => new TaskFailure({ type: "bad_raw", message, class: "permanent" });

function pageText(page: unknown): string {
  if (typeof page !== "string") throw badRaw("a page of bronze raw is not a string");
  return page;
}

/**
 * The refined rows of a raw body as it streams from R2, a piece at a time: page after page of a
 * paged or items raw ({ pages } / { items: [{ pages }] }, one page parsed at a time), or the
 * pipeline's stream parser's pieces; the whole body goes to `parse` only when it has neither.
 */
async function* rowsOf(pipeline: TaskContext["pipeline"], raw: R2ObjectBody, batch: BatchSpec): AsyncGenerator<Iterable<Row>> {
  if (pipeline.items) {
    let root: unknown;
    for await (const item of jsonItems(raw.body, "items", (r) => (root = r))) {
      const pages = (item as { pages?: unknown } | null)?.pages;
      if (!Array.isArray(pages)) throw badRaw("bronze raw of items without pages");
      for (const page of pages) yield pipeline.parse(pageText(page), batch);
    }
    if (!Array.isArray((root as { items?: unknown }).items)) throw badRaw("bronze raw of items without items");
  } else if (pipeline.paginate) {
    let root: unknown;
    for await (const page of jsonItems(raw.body, "pages", (r) => (root = r))) yield pipeline.parse(pageText(page), batch);
    if (!Array.isArray((root as { pages?: unknown }).pages)) throw badRaw("paged bronze raw without pages");
  } else if (pipeline.parseStream) yield* pipeline.parseStream(raw.body, batch);
  else yield pipeline.parse(await raw.text(), batch);
}

/** Each row `select` keeps of the upstream's published Parquet, a row group at a time. */
async function* selected(source: Blob, select: (row: Row) => Row | null | undefined): AsyncGenerator<Row[]> {
  for await (const rows of rowGroups(source)) {
    const out: Row[] = [];
    for (const row of rows) {
      const kept = select(row);
      if (kept) out.push(kept);
    }
    yield out;
  }
}

export async function refine(ctx: TaskContext): Promise<TaskOutcome> {
  const { env, pipeline, message } = ctx;
  if (message.input.kind !== "refine") throw new Error("not a refine task");
  const { batchId, rawKey } = message.input;
  const key = layout.bronzeRefined(pipeline.name, message.version, batchId);
  const done = await readDone(env.BUCKET, key);
  if (done) return { output: done, reused: true };

  const raw = await env.BUCKET.get(rawKey);
  if (!raw) throw new TaskFailure({ type: "missing_input", message: `bronze raw ${rawKey} is missing`, class: "permanent" });
  // Rows are written a row group at a time as the parser makes them from the body as it streams.
  const output = rowGroupWriter(env.BUCKET, key, pipeline.refinedColumns);
  try {
    if (pipeline.derived) {
      // A derived pipeline's input is the upstream's published Parquet: its rows, mapped by `select`.
      for await (const rows of selected(await raw.blob(), pipeline.derived.select)) await output.add(rows);
    } else {
      const batch = { id: batchId, partition: message.input.partition, data: message.input.data };
      for await (const rows of rowsOf(pipeline, raw, batch)) await output.add(rows);
    }
    return { output: await output.finish(), reused: false };
  } finally {
    await output.discard();
  }
}
