// refine: bronze raw JSON → bronze refined Parquet (the parser's rows, nothing validated yet).
import { putDone, readDone } from "../../src/r2/done";
import { layout } from "../../src/r2/layout";
import { writeParquetRows } from "../../src/parquet/write";
import { readParquetRows } from "../../src/parquet/read";
import type { Row } from "../../src/arrow/columns";
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

export async function refine(ctx: TaskContext): Promise<TaskOutcome> {
  const { env, pipeline, message } = ctx;
  if (message.input.kind !== "refine") throw new Error("not a refine task");
  const { batchId, rawKey } = message.input;
  const key = layout.bronzeRefined(pipeline.name, message.version, batchId);
  const done = await readDone(env.BUCKET, key);
  if (done) return { output: done, reused: true };

  const raw = await env.BUCKET.get(rawKey);
  if (!raw) throw new TaskFailure({ type: "missing_input", message: `bronze raw ${rawKey} is missing`, class: "permanent" });
  if (pipeline.derived) {
    // A derived pipeline's input is the upstream's published Parquet: its rows, mapped by `select`.
    const select = pipeline.derived.select;
    const rows = (await readParquetRows(new Uint8Array(await raw.arrayBuffer()))).flatMap((row): Row[] => {
      const out = select(row);
      return out ? [out] : [];
    });
    const bytes = await writeParquetRows(pipeline.refinedColumns, rows);
    return { output: await putDone(env.BUCKET, key, bytes, rows.length, "application/vnd.apache.parquet"), reused: false };
  }
  const batch = { id: batchId, partition: message.input.partition, data: message.input.data };
  const text = await raw.text();
  const rows = pipeline.items
    ? itemPagesOf(text).flatMap((page) => pipeline.parse(page, batch))
    : pipeline.paginate
      ? pagesOf(text).flatMap((page) => pipeline.parse(page, batch))
      : pipeline.parse(text, batch);
  const bytes = await writeParquetRows(pipeline.refinedColumns, rows);
  return { output: await putDone(env.BUCKET, key, bytes, rows.length, "application/vnd.apache.parquet"), reused: false };
}
