// Silver by row groups (issue 19): the refined input is read a row group at a time and sorted
// through runs spilled to R2 once a batch passes a run's rows; the output is written a chunk at a
// time. Checked against one sort of the whole batch written here (not our sort's code), outputs
// read with both Parquet readers.
import { env } from "cloudflare:workers";
import { parquetMetadata } from "hyparquet";
import { describe, expect, it } from "vitest";
import type { Row } from "../../src/arrow/columns";
import type { ColumnSpec } from "../../src/arrow/columns";
import { readParquetRows } from "../../src/parquet/read";
import { layout } from "../../src/r2/layout";
import { compareBy } from "../../src/silver/key-order";
import { SortedRuns } from "../../src/silver/sorted-runs";
import { coverageCollection } from "../../src/sample/coverage";
import { SAMPLE_STATIONS } from "../../src/sample/weather-data";
import { refine } from "../../queues/handlers/refine";
import { silver } from "../../queues/handlers/silver";
import type { TaskContext } from "../../queues/handlers/context";
import type { TokenPool } from "../../queues/tokens";
import type { Json, TaskMessage } from "../../src/types";
import type { BatchProfile } from "../../src/quality/checks";
import { getPipeline } from "../helpers";
import { comparable, readBoth } from "../independent-reader";

const COLUMNS: ColumnSpec[] = [
  { name: "id", type: "string", nullable: false },
  { name: "at", type: "timestamp", nullable: false },
  { name: "arrival", type: "int32", nullable: false },
];

/** Keys drawn with repeats; `arrival` tells which of equal keys came first. */
function shuffled(n: number): Row[] {
  let seed = 7;
  const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
  return Array.from({ length: n }, (_, arrival) => ({
    id: `k${Math.floor(next() * 60)}`,
    at: new Date(Date.UTC(2025, 0, 1) + Math.floor(next() * 20) * 3_600_000),
    arrival,
  }));
}

/** The reference: every row sorted by (id, at, arrival), the first of each (id, at) kept. */
function firstOfEachKey(rows: Row[]): Row[] {
  const id = (r: Row) => String(r.id);
  const at = (r: Row) => (r.at as Date).getTime();
  const sorted = [...rows].sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : at(a) - at(b) || Number(a.arrival) - Number(b.arrival)));
  return sorted.filter((r, i) => i === 0 || id(sorted[i - 1]!) !== id(r) || at(sorted[i - 1]!) !== at(r));
}

const listed = async (prefix: string) => (await env.BUCKET.list({ prefix })).objects.map((o) => o.key);

describe("sorted runs", () => {
  const limits = { runRows: 100, runGroupRows: 16, outRows: 64 };

  for (const n of [0, 90, 1_000]) {
    it(`${n} rows in chunks of 37: in key order, the first row of each key kept, runs deleted`, async () => {
      const rows = shuffled(n);
      const prefix = `test/sorted-runs/${n}`;
      const sorter = new SortedRuns(env.BUCKET, prefix, COLUMNS, compareBy(["id", "at"]), limits);
      for (let i = 0; i < rows.length; i += 37) await sorter.add(rows.slice(i, i + 37));
      // 1,000 rows spill ten runs; 90 fit one and never touch R2.
      expect(await listed(prefix)).toHaveLength(Math.floor(n / limits.runRows));
      const chunks: Row[][] = [];
      for await (const chunk of sorter.sorted()) chunks.push(chunk);
      await sorter.discard();
      const expected = firstOfEachKey(rows);
      expect(chunks.every((c) => c.length > 0 && c.length <= limits.outRows)).toBe(true);
      const plain = (r: Row) => `${String(r.id)} ${(r.at as Date).toISOString()} ${String(r.arrival)}`;
      expect(chunks.flat().map(plain)).toEqual(expected.map(plain));
      expect(sorter.duplicates).toBe(n - expected.length);
      expect(await listed(prefix)).toEqual([]);
    });
  }
});

describe("silver by row groups", () => {
  it("a batch of two runs (9 stations × a year, one of them twice) equals one sort of the whole batch", async () => {
    const pipeline = getPipeline("sample-weather");
    const version = { window: "2024", hive: "year=2024", n: 1 };
    const stations = [...SAMPLE_STATIONS.slice(0, 8), SAMPLE_STATIONS[0]!];
    const batchId = "stream-9x1y";
    const data = { stations: stations.map((s) => s.id), start: "2024-01-01", end: "2025-01-01" };
    const rawKey = layout.bronzeRaw("sample-edr", batchId);
    await env.BUCKET.put(rawKey, JSON.stringify(coverageCollection(stations, Date.parse(data.start), Date.parse(data.end))));
    const base = { v: 1, runId: "stream", pipeline: pipeline.name, group: "initial", maxAttempts: 1, version } as const;
    const refinedKey = layout.bronzeRefined(pipeline.name, version, batchId);
    const messages: TaskMessage[] = [
      { ...base, taskId: `${batchId}-refine`, phase: "refine", input: { kind: "refine", batchId, rawKey, partition: batchId, data } },
      {
        ...base,
        taskId: `${batchId}-silver`,
        phase: "silver",
        input: { kind: "silver", batchId, refinedKey, params: pipeline.paramsSchema.parse({ stations: data.stations.slice(0, 8), from: data.start, to: data.end }) as Json },
      },
    ];
    const ctx = (message: TaskMessage): TaskContext => ({ env, message, pipeline, tokens: {} as TokenPool });
    await refine(ctx(messages[0]!));
    const outcome = await silver(ctx(messages[1]!));

    // The reference: the refined rows transformed and validated, sorted whole, the first of each key kept.
    const refined = await readParquetRows(new Uint8Array(await (await env.BUCKET.get(refinedKey))!.arrayBuffer()));
    expect(refined).toHaveLength(9 * 8_784);
    const transform = pipeline.transformer(messages[1]!.input.kind === "silver" ? (messages[1]!.input.params ?? {}) : {});
    const valid = refined.flatMap((row) => {
      const parsed = pipeline.rowSchema.safeParse(transform(row));
      return parsed.success ? [parsed.data as Row] : [];
    });
    const keyOf = (r: Row) => `${String(r.station_id)}|${(r.observed_at as Date).toISOString()}`;
    const seen = new Set<string>();
    const expected = valid.filter((r) => !seen.has(keyOf(r)) && seen.add(keyOf(r)));
    expect(expected).toHaveLength(8 * 8_784);

    const bytes = new Uint8Array(await (await env.BUCKET.get(outcome.output.key))!.arrayBuffer());
    const rows = await readBoth(bytes);
    expect(rows.map(keyOf)).toEqual(expected.map(keyOf).sort());
    const withoutFlags = (rs: Row[]) => comparable(rs.map(({ quality_flags: _, ...r }) => r));
    expect(withoutFlags(rows)).toEqual(withoutFlags(expected));
    // Written as parts of 65,536 rows, stitched: two row groups; the runs and parts are gone.
    expect(parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer).row_groups.map((g) => Number(g.num_rows))).toEqual([65_536, 8 * 8_784 - 65_536]);
    const profile = outcome.profile as BatchProfile;
    expect(profile).toMatchObject({ rows: 8 * 8_784, duplicates: 8_784 });
    expect(outcome.output.rows).toBe(8 * 8_784);
    expect(await listed(`${outcome.output.key}.runs/`)).toEqual([]);
    expect(await listed(`${outcome.output.key}.parts/`)).toEqual([]);
  });
});
