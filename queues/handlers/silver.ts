// silver: bronze refined → typed, validated rows. The pipeline's transform runs first (units,
// derived fields); its zod row schema then decides both what a valid row is and the Parquet
// types. Bad rows are counted and sampled, never silently dropped; duplicate keys keep their
// first row and are counted (the profile's `duplicates`, summed in the run view); rows are sorted by the key; implausible values are flagged, not dropped. The batch's
// profile (rows, nulls, keys, flags) goes into the done marker for the quality phase.
import { arrowSchema, type Row } from "../../src/arrow/columns";
import { readParquetRows, schemaFingerprint } from "../../src/parquet/read";
import { writeParquetRows } from "../../src/parquet/write";
import type { BatchProfile } from "../../src/quality/checks";
import { flagOutliers, profileRows } from "../../src/quality/profile";
import { putDone, readDone } from "../../src/r2/done";
import { layout } from "../../src/r2/layout";
import { TaskFailure } from "../../src/upstream/classify";
import type { Json } from "../../src/types";
import type { TaskContext, TaskOutcome } from "./context";
import { overSilver, statesOf } from "../../src/gold/aggregates";
import { putStates } from "../../src/gold/states-io";

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

/** Run params by R2 key, kept per isolate: every silver task of a run reads the same object. */
const paramsCache = new Map<string, Json>();

async function runParams(bucket: R2Bucket, input: { paramsKey?: string; params?: Json }): Promise<Json> {
  if (!input.paramsKey) return input.params ?? {};
  const cached = paramsCache.get(input.paramsKey);
  if (cached !== undefined) return cached;
  const object = await bucket.get(input.paramsKey);
  if (!object) throw new TaskFailure({ type: "missing_input", message: `run params ${input.paramsKey} are missing`, class: "permanent" });
  const params = (await object.json()) as Json;
  if (paramsCache.size >= 16) paramsCache.delete(paramsCache.keys().next().value!);
  paramsCache.set(input.paramsKey, params);
  return params;
}

export async function silver(ctx: TaskContext): Promise<TaskOutcome> {
  const { env, pipeline, message } = ctx;
  if (message.input.kind !== "silver") throw new Error("not a silver task");
  const { batchId, refinedKey } = message.input;
  const key = layout.silver(pipeline.name, message.version, batchId);
  const done = await readDone(env.BUCKET, key);
  if (done)
    return {
      output: { key: done.key, rows: done.rows, bytes: done.bytes, sha256: done.sha256 },
      reused: true,
      profile: done.profile as BatchProfile | undefined,
    };

  if (!(await readDone(env.BUCKET, refinedKey))) {
    throw new TaskFailure({ type: "missing_input", message: `bronze refined ${refinedKey} is not marked done`, class: "permanent" });
  }
  const refined = await env.BUCKET.get(refinedKey);
  if (!refined) throw new TaskFailure({ type: "missing_input", message: `bronze refined ${refinedKey} is missing`, class: "permanent" });
  const input = await readParquetRows(new Uint8Array(await refined.arrayBuffer()));

  const params = await runParams(env.BUCKET, message.input);
  const transform = pipeline.transformer(params);
  const good: Row[] = [];
  const samples: string[] = [];
  let bad = 0;
  for (const row of input) {
    const parsed = pipeline.rowSchema.safeParse(transform(row));
    if (parsed.success) good.push(parsed.data);
    else {
      bad++;
      if (samples.length < SAMPLE_LIMIT) {
        const where = pipeline.key.map((k) => `${k}=${String(sortable(row[k]))}`).join(" ");
        samples.push(`${where}: ${parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`);
      }
    }
  }
  const order = compareBy(pipeline.key);
  good.sort(order);
  const unique = good.filter((row, i) => i === 0 || order(good[i - 1]!, row) !== 0);
  const checks = pipeline.quality(params);
  const flags = flagOutliers(unique, checks, pipeline.key);
  const bytes = await writeParquetRows(pipeline.columns, unique);
  const schema = schemaFingerprint(arrowSchema(pipeline.columns));
  const profile = profileRows(
    unique,
    pipeline.columns.map((c) => c.name),
    schema,
    checks,
    flags,
  );
  profile.duplicates = good.length - unique.length;
  // The gold datasets' states of this batch, stored before the done marker that makes the task reusable.
  const gold = overSilver(pipeline.gold);
  if (gold.length > 0) await putStates(env.BUCKET, key, gold, Object.fromEntries(gold.map((d) => [d.name, statesOf(d, unique)])));
  const output = await putDone(env.BUCKET, key, bytes, unique.length, "application/vnd.apache.parquet", profile);
  return { output, reused: false, badRows: bad, badRowSamples: samples, profile };
}
