// Bench section 8 (npm run bench -- --only gold): a gold dataset per station and day over tens of
// millions of silver rows, computed as a run computes it — each silver task's states of its batch
// (8 stations × a year), then the merge tree combining them a part at a time — in workerd, with
// Node watching the first task of each level and the final one (CPU time, memory). The dataset's
// file goes to Node, where DuckDB checks it group by group against its own aggregation.
import { env } from "cloudflare:workers";
import { it } from "vitest";
import type { ColumnSpec } from "../../src/arrow/columns";
import { statesOf, type GoldDataset } from "../../src/gold/aggregates";
import { mergeGold, putStates } from "../../src/gold/states-io";
import { layout } from "../../src/r2/layout";
import type { OutputFile } from "../../src/types";
import { pulsingBucket } from "./pulse";
import { benchVar, clock, mark, sendToNode } from "./seeds-rows";
import { batchRows, STATIONS_PER_BATCH, type GoldScale } from "./gold-scale-data";

const SILVER: ColumnSpec[] = [
  { name: "station_id", type: "string", nullable: false },
  { name: "observed_at", type: "timestamp", nullable: false },
  { name: "temperature", type: "float64", nullable: true },
  { name: "precipitation", type: "float64", nullable: true },
];

const PIPELINE = "gold-scale";
const FAN_IN = 16;

/**
 * The first task of a level, watched by Node (CPU, memory), then again with a full GC before
 * each memory sample (":live"), before it runs again for the timing (its writes are the same).
 */
async function watched(label: string, task: (bucket: R2Bucket) => Promise<unknown>): Promise<void> {
  for (const watch of [label, `${label}:live`]) {
    await mark(`start:${watch}`);
    await task(pulsingBucket(env.BUCKET, watch.endsWith(":live") ? 50 : 20));
    await mark(`end:${watch}`);
  }
}

it("computes a daily gold dataset over the rows, task by task", async () => {
  const scale: GoldScale = { stations: Number(benchVar("BENCH_GOLD_STATIONS")), years: Number(benchVar("BENCH_GOLD_YEARS")) };
  const daily: GoldDataset = {
    name: "daily",
    groupBy: ["station_id"],
    bucket: { column: "observed_at", unit: "day", as: "day" },
    aggregates: {
      n: { fn: "count" },
      t_n: { fn: "countNonNull", column: "temperature" },
      t_mean: { fn: "mean", column: "temperature" },
      t_min: { fn: "min", column: "temperature" },
      t_max: { fn: "max", column: "temperature" },
      t_sd: { fn: "stddev", column: "temperature" },
      p_sum: { fn: "sum", column: "precipitation" },
    },
    partitions: Number(benchVar("BENCH_GOLD_PARTITIONS")),
  };
  const version = { window: "scale", hive: "scale=1", n: 1 };
  const report = (task: Record<string, unknown>) => console.log(`BENCH ${JSON.stringify({ bench: "gold-task", ...task })}`);

  // The silver tasks' share: each batch's states, a part an object.
  let files: OutputFile[] = [];
  let rows = 0;
  const silverMs: number[] = [];
  for (let year = 0; year < scale.years; year++) {
    for (let first = 0; first < scale.stations; first += STATIONS_PER_BATCH) {
      const batch = batchRows(scale, first, year);
      const key = `silver/dataset=${PIPELINE}/version=scale_staged_v1/y${String(year).padStart(2, "0")}-s${String(first).padStart(4, "0")}.parquet`;
      const task = (bucket: R2Bucket = env.BUCKET) => putStates(bucket, key, [daily], { daily: statesOf(daily, batch) });
      if (files.length === 0) await watched("silver", task);
      const t0 = await clock();
      await task();
      silverMs.push((await clock()) - t0);
      files.push({ key, rows: batch.length, bytes: 0, sha256: "" });
      rows += batch.length;
    }
  }
  report({ label: "silver", level: 0, tasks: files.length, rows, maxMs: Math.max(...silverMs), totalMs: silverMs.reduce((a, b) => a + b, 0) });

  // The merge tree, as planMergeLevel cuts it: FAN_IN files a task, until one task writes the dataset.
  for (let level = 1; ; level++) {
    const groups: OutputFile[][] = [];
    for (let i = 0; i < files.length; i += FAN_IN) groups.push(files.slice(i, i + FAN_IN));
    const final = groups.length === 1;
    const label = final ? "final" : `L${level}`;
    const ms: number[] = [];
    const next: OutputFile[] = [];
    for (const [index, inputs] of groups.entries()) {
      const outputKey = layout.merge(PIPELINE, version, level, index);
      const task = (bucket: R2Bucket = env.BUCKET) => mergeGold(bucket, [daily], inputs, outputKey, final ? { pipeline: PIPELINE, version, silver: SILVER } : undefined);
      if (index === 0) await watched(label, task);
      const t0 = await clock();
      await task();
      ms.push((await clock()) - t0);
      next.push({ key: outputKey, rows: 0, bytes: 0, sha256: "" });
    }
    report({ label, level, tasks: groups.length, fanIn: groups[0]!.length, maxMs: Math.max(...ms), totalMs: ms.reduce((a, b) => a + b, 0) });
    if (final) break;
    files = next;
  }

  const bytes = await sendToNode(layout.goldDataset(PIPELINE, daily.name, version), "daily.parquet");
  report({ label: "output", bytes, rows });
}, 3_600_000);
