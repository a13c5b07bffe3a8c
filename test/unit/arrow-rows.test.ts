// Rows ↔ Arrow columns: the UTF-8 written without TextEncoder must be TextEncoder's byte for byte,
// and reading a column at a time must give what Arrow's own getters give, nulls, offsets and
// several batches included.
import { makeVector, Table } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { rowsToTable, type ColumnSpec, type Row } from "../../src/arrow/columns";
import { tableToRows } from "../../src/arrow/table-rows";
import { decodeUtf8, encodeUtf8 } from "../../src/arrow/utf8";
import { writeParquetRows } from "../../src/parquet/write";
import { readBoth } from "../independent-reader";

const TEXTS = ["", "plain", "Köln", "日本語", "€", "😀 smile", "a\uD800b", "\uDC00", "end\uD83D", "x".repeat(300), "ß".repeat(200) + "😀".repeat(50)];

describe("UTF-8 of a column", () => {
  it("encodes every string as TextEncoder does, lone surrogates as U+FFFD, growing past one byte a char", () => {
    const texts = [...TEXTS, undefined, ...TEXTS.reverse()];
    const { offsets, data } = encodeUtf8(texts);
    const encoder = new TextEncoder();
    texts.forEach((t, i) => {
      expect([...data.subarray(offsets[i]!, offsets[i + 1]!)]).toEqual(t === undefined ? [] : [...encoder.encode(t)]);
    });
    expect(offsets.at(-1)).toBe(data.length);
  });

  it("decodes ASCII and non-ASCII columns, nulls where the bitmap says", () => {
    for (const texts of [["id-1", "", "id-22", "id-333"], ["Köln", "", "😀", "plain"]]) {
      const { offsets, data } = encodeUtf8(texts);
      expect(decodeUtf8(data, offsets, 4, (i) => i !== 1)).toEqual([texts[0], null, texts[2], texts[3]]);
    }
  });
});

const COLUMNS: ColumnSpec[] = [
  { name: "id", type: "string", nullable: false },
  { name: "city", type: "string", nullable: true },
  { name: "n", type: "int64", nullable: true },
  { name: "small", type: "int32", nullable: true },
  { name: "x", type: "float64", nullable: true },
  { name: "flag", type: "bool", nullable: true },
  { name: "at", type: "timestamp", nullable: true },
];

const rowsOf = (count: number): Row[] =>
  Array.from({ length: count }, (_, i) => ({
    id: `k${i}`,
    city: i % 5 === 0 ? null : i % 3 === 0 ? "Zürich" : "Ulm",
    n: i % 7 === 0 ? null : (i - 50) * 2 ** 33 + i,
    small: i % 4 === 0 ? null : -i,
    x: i % 6 === 0 ? null : i / 7,
    flag: i % 9 === 0 ? null : i % 2 === 0,
    at: i % 8 === 0 ? null : new Date(Date.UTC(1960, 0, 1) + i * 86_400_001),
  }));

/** What Arrow's own getters give, converted as sluice's rows hold values. */
const byGetters = (columns: ColumnSpec[], table: ReturnType<typeof rowsToTable>): Row[] =>
  Array.from({ length: table.numRows }, (_, i) =>
    Object.fromEntries(
      columns.map((c) => {
        const v: unknown = table.getChild(c.name)!.get(i) ?? null;
        return [c.name, v === null ? null : c.type === "timestamp" ? new Date(Number(v)) : typeof v === "bigint" ? Number(v) : v];
      }),
    ),
  );

describe("an Arrow table → rows", () => {
  it("reads every type a column at a time, as Arrow's getters do, from a slice that starts mid-byte", () => {
    const rows = rowsOf(100);
    const table = rowsToTable(COLUMNS, rows);
    expect(tableToRows(table)).toEqual(rows);
    const slice = table.slice(13, 77);
    expect(slice.batches[0]!.data.children[0]!.offset + slice.batches[0]!.data.children[5]!.offset).toBeGreaterThan(0);
    expect(tableToRows(slice)).toEqual(rows.slice(13, 77));
    expect(tableToRows(slice)).toEqual(byGetters(COLUMNS, slice));
  });

  it("reads Parquet of several row groups back to the rows written, as hyparquet reads them", async () => {
    const rows = rowsOf(1000);
    expect(await readBoth(await writeParquetRows(COLUMNS, rows, 128))).toEqual(rows);
  });

  it("reads types sluice does not write through Arrow's getters", () => {
    const table = new Table({ u16: makeVector(new Uint16Array([7, 9])), u64: makeVector(new BigUint64Array([2n ** 40n, 3n])) });
    expect(tableToRows(table)).toEqual([
      { u16: 7, u64: 2 ** 40 },
      { u16: 9, u64: 3 },
    ]);
  });
});
