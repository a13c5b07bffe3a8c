// silver: bronze refined → typed, validated rows. The pipeline's zod row schema decides both
// what a valid row is and the Parquet types. Bad rows are counted and sampled, never silently
// dropped; duplicate keys keep their first row; rows are sorted by the key.
import type { Row } from "../../src/arrow/columns";
import { readParquetRows } from "../../src/parquet/read";
import { writeParquetRows } from "../../src/parquet/write";
import { putDone, readDone } from "../../src/r2/done";
import { layout } from "../../src/r2/layout";
import { TaskFailure } from "../../src/upstream/classify";
import type { TaskContext, TaskOutcome } from "./context";

const SAMPLE_LIMIT = 5;

function sortable(v: unknown): string | number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === "number") return v;
  return String(v);
}

function compareBy(key: string[]): (a: Row, b: Row) => number {
  return (a, b) => {
    for (const k of key) {
      const x = sortable(a[k]);
      const y = sortable(b[k]);
      if (x < y) return -1;
      if (x > y) return 1;
    }
    return 0;
  };
}

export async function silver(ctx: TaskContext): Promise<TaskOutcome> {
  const { env, pipeline, message } = ctx;
  if (message.input.kind !== "silver") throw new Error("not a silver task");
  const { batchId, refinedKey } = message.input;
  const key = layout.silver(pipeline.name, message.runId, batchId);
  const done = await readDone(env.BUCKET, key);
  if (done) return { output: done, reused: true };

  if (!(await readDone(env.BUCKET, refinedKey))) {
    throw new TaskFailure({ type: "missing_input", message: `bronze refined ${refinedKey} is not marked done`, class: "permanent" });
  }
  const refined = await env.BUCKET.get(refinedKey);
  if (!refined) throw new TaskFailure({ type: "missing_input", message: `bronze refined ${refinedKey} is missing`, class: "permanent" });
  const input = await readParquetRows(new Uint8Array(await refined.arrayBuffer()));

  const good: Row[] = [];
  const samples: string[] = [];
  let bad = 0;
  for (const row of input) {
    const parsed = pipeline.rowSchema.safeParse(row);
    if (parsed.success) good.push(parsed.data);
    else {
      bad++;
      if (samples.length < SAMPLE_LIMIT) {
        const where = pipeline.key.map((k) => `${k}=${String(sortable(row[k]))}`).join(" ");
        samples.push(`${where}: ${parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`);
      }
    }
  }
  good.sort(compareBy(pipeline.key));
  const unique = good.filter((row, i) => i === 0 || compareBy(pipeline.key)(good[i - 1]!, row) !== 0);
  const bytes = await writeParquetRows(pipeline.columns, unique);
  const output = await putDone(env.BUCKET, key, bytes, unique.length, "application/vnd.apache.parquet");
  return { output, reused: false, badRows: bad, badRowSamples: samples };
}
