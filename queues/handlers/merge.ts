// merge: one task of the hierarchical aggregation. k done files → one file, streamed; and the
// gold datasets' states of those files combined (src/gold/); the final one also writes the
// current and history tables of a pipeline fed by changes.
import { mergeParquetToR2 } from "../../src/parquet/merge";
import { markDone, readDone } from "../../src/r2/done";
import { TaskFailure } from "../../src/upstream/classify";
import type { TaskContext, TaskOutcome } from "./context";
import { mergeGold, writeDatasets } from "../../src/gold/states-io";
import { overCurrent, overSilver } from "../../src/gold/aggregates";
import { writeChangeTables } from "../../src/gold/change-tables";

export async function merge(ctx: TaskContext): Promise<TaskOutcome> {
  const { env, message } = ctx;
  if (message.input.kind !== "merge") throw new Error("not a merge task");
  const { inputs, outputKey } = message.input;
  const done = await readDone(env.BUCKET, outputKey);
  if (done) return { output: done, reused: true };

  for (const input of inputs) {
    const marker = await readDone(env.BUCKET, input.key);
    if (!marker || marker.sha256 !== input.sha256) {
      throw new TaskFailure({ type: "missing_input", message: `merge input ${input.key} is not marked done with the expected content`, class: "permanent" });
    }
  }
  // Gold datasets: the inputs' states combined, kept beside the output, or written as the
  // datasets' files by the final merge; before the done marker that makes the task reusable.
  if (message.input.gold) {
    const final = message.input.final ? { pipeline: ctx.pipeline.name, version: message.version, silver: ctx.pipeline.columns } : undefined;
    await mergeGold(env.BUCKET, overSilver(ctx.pipeline.gold), inputs, outputKey, final);
  }
  const result = await mergeParquetToR2(env.BUCKET, inputs, outputKey);
  const output = { key: outputKey, rows: result.rows, bytes: result.bytes, sha256: result.sha256 };
  // The run's changes (its whole output) applied to the latest published history: new versions of
  // both tables, and the gold datasets aggregated over the current one.
  const { changes } = ctx.pipeline;
  if (message.input.changes && changes) {
    const gold = overCurrent(ctx.pipeline.gold);
    const { states } = await writeChangeTables(env.BUCKET, { ...ctx.pipeline, changes }, message.version, outputKey, gold);
    await writeDatasets(env.BUCKET, ctx.pipeline.name, message.version, gold, ctx.pipeline.columns, states);
  }
  await markDone(env.BUCKET, output);
  return { output, reused: false };
}
