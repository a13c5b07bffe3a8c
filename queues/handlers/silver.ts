// silver: bronze refined → typed, validated rows. The pipeline's transform runs first (units,
// derived fields); its zod row schema then decides both what a valid row is and the Parquet
// types. Bad rows are counted and sampled, never silently dropped; rows are sorted by the key;
// duplicate keys keep their first row and are counted (the profile's `duplicates`, summed in the
// run view); implausible values are flagged, not dropped. The batch's profile (rows, nulls, keys,
// flags) goes into the done marker for the quality phase. A batch of any size: the input is read
// a row group at a time, sorted through runs in R2 (src/silver/sorted-runs.ts), written in parts.
import { arrowSchema, type Row } from "../../src/arrow/columns";
import { schemaFingerprint } from "../../src/parquet/read";
import { rowGroups } from "../../src/parquet/row-groups";
import { rowGroupWriter } from "../../src/parquet/write-parts";
import type { BatchProfile } from "../../src/quality/checks";
import { batchProfiler, flagOutliers, type Flags } from "../../src/quality/profile";
import { readDone } from "../../src/r2/done";
import { layout } from "../../src/r2/layout";
import { compareBy, describeKey } from "../../src/silver/key-order";
import { SortedRuns } from "../../src/silver/sorted-runs";
import { TaskFailure } from "../../src/upstream/classify";
import type { Json } from "../../src/types";
import type { TaskContext, TaskOutcome } from "./context";
import { mergeStates, overSilver, statesOf, type States } from "../../src/gold/aggregates";
import { putStates } from "../../src/gold/states-io";

const SAMPLE_LIMIT = 5;

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
  const input = await refined.blob();

  const params = await runParams(env.BUCKET, message.input);
  const transform = pipeline.transformer(params);
  // A row group of the input at a time: validated, then held by the sort (which spills runs to
  // R2 past a run's rows), so memory stays flat in the batch's size.
  const sorter = new SortedRuns(env.BUCKET, `${key}.runs`, pipeline.columns, compareBy(pipeline.key));
  const output = rowGroupWriter(env.BUCKET, key, pipeline.columns);
  try {
    const samples: string[] = [];
    let bad = 0;
    for await (const rows of rowGroups(input)) {
      const good: Row[] = [];
      for (const row of rows) {
        const parsed = pipeline.rowSchema.safeParse(transform(row));
        if (parsed.success) good.push(parsed.data);
        else {
          bad++;
          if (samples.length < SAMPLE_LIMIT) samples.push(`${describeKey(pipeline.key, row)}: ${parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`);
        }
      }
      await sorter.add(good);
    }

    // The sorted rows a chunk at a time: flagged, profiled, folded into the gold states, written.
    const checks = pipeline.quality(params);
    const flags: Flags = { flagged: {}, samples: [] };
    const profiler = batchProfiler(
      pipeline.columns.map((c) => c.name),
      schemaFingerprint(arrowSchema(pipeline.columns)),
      checks,
    );
    const gold = overSilver(pipeline.gold);
    const states: Record<string, States> = {};
    for await (const chunk of sorter.sorted()) {
      flagOutliers(chunk, checks, pipeline.key, flags);
      profiler.add(chunk);
      for (const d of gold) states[d.name] = states[d.name] ? mergeStates(d, states[d.name]!, statesOf(d, chunk)) : statesOf(d, chunk);
      await output.add(chunk);
    }
    const profile: BatchProfile = profiler.finish(flags);
    profile.duplicates = sorter.duplicates;
    // The gold datasets' states of this batch, stored before the done marker that makes the task reusable.
    if (gold.length > 0) await putStates(env.BUCKET, key, gold, Object.fromEntries(gold.map((d) => [d.name, states[d.name] ?? statesOf(d, [])])));
    const file = await output.finish(profile);
    return { output: file, reused: false, badRows: bad, badRowSamples: samples, profile };
  } finally {
    await Promise.all([sorter.discard(), output.discard()]);
  }
}
