// Current and history tables by parts (issue 18, item 6): with `changes.partitions` the final merge
// applies a run's changes a part of the keys at a time, each part's previous history read alone
// (its row groups, as the last version listed them), and writes the parts as row groups of the two
// files. Checked against the tables applied whole, over three runs: the first written whole (so
// the second must cut a history that was not cut), the next two by parts. Files read with both
// Parquet readers.
import { env } from "cloudflare:workers";
import { parquetMetadata } from "hyparquet";
import { describe, expect, it } from "vitest";
import type { ColumnSpec, Row } from "../../src/arrow/columns";
import { writeChangeTables } from "../../src/gold/change-tables";
import { applyChanges, changeTableColumns, type ChangesDefinition } from "../../src/gold/changes";
import { writeParquetRows } from "../../src/parquet/write";
import { markPublished } from "../../src/r2/done";
import { comparable, readBoth } from "../independent-reader";

const COLUMNS: ColumnSpec[] = [
  { name: "customer_id", type: "string", nullable: false },
  { name: "seq", type: "int64", nullable: false },
  { name: "op", type: "string", nullable: false },
  { name: "changed_at", type: "timestamp", nullable: false },
  { name: "city", type: "string", nullable: true },
];
const CHANGES: ChangesDefinition = { key: ["customer_id"], sequence: "seq", at: "changed_at", operation: { column: "op", deletes: ["delete"] } };
const CITIES = ["Kiel", "Bremen", "Mainz", "Erfurt", "Rostock"];

/** Run r's changes: new customers, updates and deletes of earlier ones, some late (a lower seq), and repeats. */
function changesOf(r: number): Row[] {
  const rows: Row[] = [];
  for (let i = 0; i < 400; i++) {
    const id = `c${String((r * 157 + i * 13) % 500).padStart(4, "0")}`;
    const seq = r * 1000 + i - (i % 17 === 0 ? 1500 : 0); // every 17th a run late
    const op = i % 23 === 0 ? "delete" : i % 3 === 0 ? "insert" : "update";
    rows.push({
      customer_id: id,
      seq,
      op,
      changed_at: new Date(Date.UTC(2025, 0, 1) + seq * 60_000),
      city: op === "delete" ? null : CITIES[i % 5]!,
    });
  }
  return [...rows, ...rows.slice(0, 25)]; // repeats
}

const text = (rows: Row[]) => comparable(rows as Record<string, unknown>[]);

/** Apply run r's changes as pipeline `name` (its history is `<name>-history`), and publish the history as its quality phase would. */
async function run(name: string, r: number, changes: ChangesDefinition) {
  const changesKey = `test/change-parts/${name}-run-${r}.parquet`;
  await env.BUCKET.put(changesKey, await writeParquetRows(COLUMNS, changesOf(r)));
  const out = await writeChangeTables(env.BUCKET, { name, columns: COLUMNS, changes }, { window: `r${r}`, hive: `run=${r}`, n: 1 }, changesKey);
  const [current, history] = out.files; // in CHANGE_TABLES' order
  await markPublished(env.BUCKET, { ...history!, runId: `run-${r}`, version: `r${r}_v1`, publishedAt: new Date().toISOString() });
  const read = async (key: string) => new Uint8Array(await (await env.BUCKET.get(key))!.arrayBuffer());
  return { applied: out.applied, history: await read(history!.key), current: await read(current!.key) };
}

describe("current and history tables by parts", () => {
  it("applies each part's changes to that part's history alone, and equals the tables applied whole", async () => {
    // What the three runs make, applied whole in memory.
    let want = applyChanges(CHANGES, [], changesOf(1));
    const expected = [want];
    for (const r of [2, 3])
      expected.push(
        (want = applyChanges(
          CHANGES,
          want.history.map((row) => ({ ...row })),
          changesOf(r),
        )),
      ); // (it sets validity in place)

    // Run 1 written whole; runs 2 and 3 by five parts under the same name, the first of them
    // cutting a history that was not cut. A part holds at most a third of the history: whole, the
    // same history is refused.
    const max = Math.ceil(expected[2]!.history.length / 3);
    const first = await run("cp", 1, CHANGES);
    expect(first.applied.parts).toBeUndefined();
    const small = Math.floor(max / 2);
    await expect(run("cp-whole", 1, { ...CHANGES, maxRows: small })).rejects.toThrow(
      `holds at most ${small} (changes.maxRows), or split it with changes.partitions`,
    );
    for (const r of [2, 3]) {
      const got = await run("cp", r, { ...CHANGES, partitions: 5, maxRows: max });
      const want = expected[r - 1]!;
      expect(text(await readBoth(got.history)), `history after run ${r}`).toEqual(text(want.history));
      expect(text(await readBoth(got.current)), `current after run ${r}`).toEqual(text(want.current.map((row) => withoutValidity(row))));
      // One row group a part that has rows (each part is far under a row group's 65,536 rows), as listed beside it.
      const groups = parquetMetadata(got.history.buffer.slice(got.history.byteOffset, got.history.byteOffset + got.history.byteLength) as ArrayBuffer)
        .row_groups.length;
      expect(got.applied.parts).toHaveLength(5);
      expect(got.applied.parts!.reduce((a, b) => a + b, 0)).toBe(groups);
      expect(groups).toBe(5);
      expect(got.applied).toMatchObject({ history: want.history.length, current: want.current.length, added: want.added, duplicates: want.duplicates });
    }
  });
});

/** The current table's columns: the history's but `valid_to` and `is_current`. */
const withoutValidity = (row: Row): Row => Object.fromEntries(changeTableColumns(COLUMNS).current.map((c) => [c.name, row[c.name]]));
