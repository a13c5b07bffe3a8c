// refine: bronze raw JSON → bronze refined Parquet (the parser's rows, nothing validated yet),
// written a row group at a time.
import { readDone } from "../../src/r2/done";
import { layout } from "../../src/r2/layout";
import { rowGroups } from "../../src/parquet/row-groups";
import { rowGroupWriter } from "../../src/parquet/write-parts";
import type { Row } from "../../src/arrow/columns";
import type { BatchSpec } from "../../src/types";
import { TaskFailure } from "../../src/upstream/classify";
import { isItemsRaw, isPagedRaw } from "../../src/upstream/pagination";
import type { TaskContext, TaskOutcome } from "./context";

function pagesOf(text: string): string[] {
  const value: unknown = JSON.parse(text);
  if (!isPagedRaw(value)) throw new TaskFailure({ type: "bad_raw", message: "paged bronze raw without pages", class: "permanent" });
  return value.pages;
}

function itemPagesOf(text: string): string[] {
  const value: unknown = JSON.parse(text);
  if (!isItemsRaw(value)) throw new TaskFailure({ type: "bad_raw", message: "bronze raw of items without items", class: "permanent" });
  return value.items.flatMap((i) => i.pages);
}

/** The refined rows of a raw body, page after page, made as they are taken. */
function* rowsOf(pipeline: TaskContext["pipeline"], text: string, batch: BatchSpec): Generator<Row> {
  if (pipeline.items) for (const page of itemPagesOf(text)) yield* pipeline.parse(page, batch);
  else if (pipeline.paginate) for (const page of pagesOf(text)) yield* pipeline.parse(page, batch);
  else yield* pipeline.parse(text, batch);
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
  // Rows are written a row group at a time as the parser makes them (a generator's are never all held).
  const output = rowGroupWriter(env.BUCKET, key, pipeline.refinedColumns);
  try {
    if (pipeline.derived) {
      // A derived pipeline's input is the upstream's published Parquet: its rows, mapped by `select`.
      for await (const rows of selected(await raw.blob(), pipeline.derived.select)) await output.add(rows);
    } else {
      const batch = { id: batchId, partition: message.input.partition, data: message.input.data };
      await output.add(rowsOf(pipeline, await raw.text(), batch));
    }
    return { output: await output.finish(), reused: false };
  } finally {
    await output.discard();
  }
}
