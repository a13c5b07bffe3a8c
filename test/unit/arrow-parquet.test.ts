import { readBoth } from "../independent-reader";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { columnsFromZod } from "../../src/arrow/columns";
import { rowCountOf } from "../../src/parquet/thrift-footer";
import { writeParquetRows } from "../../src/parquet/write";

const schema = z.object({
  id: z.string(),
  at: z.date(),
  value: z.number().nullable(),
  count: z.int(),
  small: z.int32().optional(),
  flag: z.boolean(),
});

describe("zod → arrow columns", () => {
  it("maps zod types to Parquet columns", () => {
    expect(columnsFromZod(schema)).toEqual([
      { name: "id", type: "string", nullable: false },
      { name: "at", type: "timestamp", nullable: false },
      { name: "value", type: "float64", nullable: true },
      { name: "count", type: "int64", nullable: false },
      { name: "small", type: "int32", nullable: true },
      { name: "flag", type: "bool", nullable: false },
    ]);
  });

  it("refuses a type with no Parquet mapping", () => {
    expect(() => columnsFromZod(z.object({ nested: z.object({ a: z.string() }) }))).toThrow(/no Parquet mapping/);
  });
});

describe("parquet round trip in workerd", () => {
  it("writes and reads back every type, nulls included", async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => ({
      id: `s-${i % 7}-ü`,
      at: new Date(Date.UTC(2024, 0, 1) + i * 3_600_000),
      value: i % 10 === 0 ? null : i / 3,
      count: i * 1_000_000,
      small: i % 3 === 0 ? undefined : i,
      flag: i % 2 === 0,
    }));
    const bytes = await writeParquetRows(columnsFromZod(schema), rows);
    expect(rowCountOf(bytes)).toBe(1000);
    const back = await readBoth(bytes);
    expect(back).toHaveLength(1000);
    expect(back[0]).toEqual({ ...rows[0], value: null, small: null });
    expect(back[1]).toEqual(rows[1]);
    expect(back[999]!.at).toEqual(rows[999]!.at);
  });

  it("keeps 64-bit values exact: times before 1970, counts past 2^32 and negative, strings of every length", async () => {
    const edge = [
      { at: -2_208_988_800_000, count: -1, id: "" },
      { at: -1, count: 2 ** 32 + 5, id: "x".repeat(40) },
      { at: 0, count: Number.MAX_SAFE_INTEGER, id: "日本" },
      { at: 4_102_444_800_000, count: -(2 ** 40) - 3, id: "a" },
    ];
    const rows = edge.map((e) => ({ ...e, at: new Date(e.at), value: null, flag: false }));
    const back = await readBoth(await writeParquetRows(columnsFromZod(schema), rows));
    expect(back.map((r) => [(r.at as Date).getTime(), r.count, r.id])).toEqual(edge.map((e) => [e.at, e.count, e.id]));
  });

  it("refuses nulls in a required column", async () => {
    await expect(writeParquetRows(columnsFromZod(schema), [{ id: null, at: new Date(0), value: 1, count: 1, flag: true }])).rejects.toThrow(/not nullable/);
  });
});
