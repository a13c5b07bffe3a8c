// Bench section 9 (npm run bench -- --only scd): current and history tables over a million keys,
// by parts, as a run's final merge writes them: run 1 inserts every key, run 2 changes a tenth of
// them (updates, deletes, some late, some sent twice). Each run's change-table step is watched by
// Node (CPU, memory), and the files go to Node for DuckDB to check.
import { env } from "cloudflare:workers";
import { it } from "vitest";
import type { ColumnSpec, Row } from "../../src/arrow/columns";
import { writeChangeTables } from "../../src/gold/change-tables";
import type { ChangesDefinition } from "../../src/gold/changes";
import { writeParquetRows } from "../../src/parquet/write";
import { readFooter, stitchParquetToR2 } from "../../src/parquet/stitch";
import { markPublished } from "../../src/r2/done";
import { pulsingBucket } from "./pulse";
import { benchVar, clock, mark, sendToNode } from "./seeds-rows";

export const SCD_COLUMNS: ColumnSpec[] = [
  { name: "customer_id", type: "string", nullable: false },
  { name: "seq", type: "int64", nullable: false },
  { name: "op", type: "string", nullable: false },
  { name: "changed_at", type: "timestamp", nullable: false },
  { name: "city", type: "string", nullable: true },
  { name: "score", type: "float64", nullable: true },
];
const CITIES = ["Kiel", "Bremen", "Mainz", "Erfurt", "Rostock", "Jena", "Ulm"];
const T0 = Date.UTC(2025, 0, 1);
const id = (k: number) => `c${String(k).padStart(7, "0")}`;

/** Run 1: every key inserted. Run 2: a tenth of the keys changed — one in ten deleted, one in 17 late (a seq below its insert's), one in 13 sent twice. */
function changesOf(run: 1 | 2, keys: number, from: number, to: number): Row[] {
  const rows: Row[] = [];
  for (let j = from; j < to; j++) {
    if (run === 1) {
      rows.push({ customer_id: id(j), seq: j, op: "insert", changed_at: new Date(T0 + j * 1000), city: CITIES[j % 7]!, score: ((j * 7919) % 1000) / 10 });
      continue;
    }
    const k = (j * 9973) % keys;
    const seq = j % 17 === 0 ? k - 1 : keys + j;
    const op = j % 10 === 0 ? "delete" : "update";
    const row = {
      customer_id: id(k),
      seq,
      op,
      changed_at: new Date(T0 + seq * 1000),
      city: op === "delete" ? null : CITIES[(k + j) % 7]!,
      score: ((j * 104729) % 1000) / 10,
    };
    rows.push(row);
    if (j % 13 === 0) rows.push({ ...row });
  }
  return rows;
}

/** A run's changes as its merge writes them: one file of 65,536-row row groups. */
async function changesFile(run: 1 | 2, keys: number): Promise<string> {
  const total = run === 1 ? keys : keys / 10;
  const chunks: string[] = [];
  for (let from = 0; from < total; from += 65_536) {
    const key = `bench/scd/changes-${run}-${String(from).padStart(8, "0")}.parquet`;
    await env.BUCKET.put(key, await writeParquetRows(SCD_COLUMNS, changesOf(run, keys, from, Math.min(total, from + 65_536))));
    chunks.push(key);
  }
  const out = `bench/scd/changes-${run}.parquet`;
  await stitchParquetToR2(env.BUCKET, await Promise.all(chunks.map((k) => readFooter(env.BUCKET, k))), out);
  return out;
}

it("keeps current and history tables over a million keys, by parts", async () => {
  const keys = Number(benchVar("BENCH_SCD_KEYS"));
  const changes: ChangesDefinition = {
    key: ["customer_id"],
    sequence: "seq",
    at: "changed_at",
    operation: { column: "op", deletes: ["delete"] },
    partitions: Number(benchVar("BENCH_SCD_PARTS")),
  };
  const pipeline = { name: "scd-scale", columns: SCD_COLUMNS, changes };
  for (const run of [1, 2] as const) {
    const changesKey = await changesFile(run, keys);
    await sendToNode(changesKey, `changes-${run}.parquet`);
    const version = { window: `run${run}`, hive: `run=${run}`, n: 1 };
    // Watched (CPU, memory), watched live (a full GC before each sample), then timed: the same writes each time.
    for (const watch of [`scd${run}`, `scd${run}:live`]) {
      await mark(`start:${watch}`);
      await writeChangeTables(pulsingBucket(env.BUCKET, watch.endsWith(":live") ? 50 : 20), pipeline, version, changesKey);
      await mark(`end:${watch}`);
    }
    const t0 = await clock();
    const { files, applied } = await writeChangeTables(env.BUCKET, pipeline, version, changesKey);
    const ms = (await clock()) - t0;
    const [current, history] = files; // in CHANGE_TABLES' order
    await markPublished(env.BUCKET, { ...history!, runId: `run${run}`, version: `run${run}_v1`, publishedAt: new Date().toISOString() });
    if (run === 2) {
      await sendToNode(current!.key, "current.parquet");
      await sendToNode(history!.key, "history.parquet");
    }
    console.log(`BENCH ${JSON.stringify({ bench: "scd", label: `scd${run}`, run, ms, applied, historyBytes: history!.bytes, currentBytes: current!.bytes })}`);
  }
}, 3_600_000);
