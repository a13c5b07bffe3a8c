// sluice's own Parquet encoder (src/parquet/encode): its files read back by parquet-wasm and by
// hyparquet, which share no code with it, value for value; its schema written as parquet-wasm
// writes it, so the two writers' files stitch together.
import { parquetMetadata } from "hyparquet";
import { describe, expect, it } from "vitest";
import type { ColumnSpec } from "../../src/arrow/columns";
import { PAGE_BYTES } from "../../src/parquet/encode/chunk";
import { encodeParquet } from "../../src/parquet/encode/file";
import { decodeStruct, encodeStruct, field, intField, listField, readStruct, structField, type TStruct } from "../../src/parquet/thrift-compact";
import { footerLength } from "../../src/parquet/thrift-footer";
import { readBoth } from "../independent-reader";
import { writeWithParquetWasm } from "../parquet-wasm-writer";

const columns: ColumnSpec[] = [
  { name: "id", type: "string", nullable: false },
  { name: "at", type: "timestamp", nullable: false },
  { name: "value", type: "float64", nullable: true },
  { name: "count", type: "int64", nullable: false },
  { name: "small", type: "int32", nullable: true },
  { name: "flag", type: "bool", nullable: false },
  { name: "note", type: "string", nullable: true },
  { name: "level", type: "int32", nullable: true },
  { name: "ok", type: "bool", nullable: true },
];

function footer(bytes: Uint8Array) {
  const length = footerLength(bytes.subarray(bytes.length - 8));
  return decodeStruct(bytes.subarray(bytes.length - 8 - length, bytes.length - 8));
}

/** The pages of the first row group's chunk `c`, walked header by header: type, rows, uncompressed bytes. */
function pagesOf(bytes: Uint8Array, c: number) {
  const group = listField(footer(bytes), 4)!.items[0] as TStruct;
  const meta = structField(listField(group, 1)!.items[c] as TStruct, 3)!;
  let at = Number(intField(meta, 11) ?? intField(meta, 9));
  const end = at + Number(intField(meta, 7));
  const pages: { type: number; rows: number; bytes: number }[] = [];
  while (at < end) {
    const { value: header, end: body } = readStruct(bytes.subarray(at));
    const data = structField(header, 5);
    pages.push({ type: Number(intField(header, 1)), rows: data ? Number(intField(data, 1)) : 0, bytes: Number(intField(header, 2)) });
    at += body + Number(intField(header, 3));
  }
  expect(at).toBe(end);
  return pages;
}

describe("sluice's Parquet encoder", () => {
  it("writes the schema exactly as parquet-wasm does", async () => {
    const theirs = await writeWithParquetWasm(columns, []);
    const schema = (bytes: Uint8Array) => encodeStruct({ fields: [field(footer(bytes), 2)!] });
    expect(schema(encodeParquet(columns, []))).toEqual(schema(theirs));
  });
});

/** A deterministic pseudo-random stream (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe("sluice's Parquet encoder: values", () => {
  it("reads back value for value in both readers: dictionaries and plain, nulls, runs, edge values, several row groups", async () => {
    const next = random(7);
    const n = 5_000;
    const rows = Array.from({ length: n }, (_, i) => {
      const r = next();
      return {
        // few distinct values (a dictionary): runs of 300, runs of 32 after 5 scattered values
        // (a bit-packed run cut short of a group of eight), then scattered
        id: i < 1_000 ? `station-${Math.floor(i / 300)}` : i < 2_000 ? (i % 37 < 5 ? `lit-${i % 5}` : "run") : `s-${Math.floor(r * 5)}-ü`,
        // every value distinct: plain
        at: new Date(Date.UTC(1969, 11, 31) + i * 3_600_000 - 7),
        // a dictionary with nulls between, and NaN, -0, infinities
        value: i % 11 === 0 ? null : i === 5 ? Number.NaN : i === 6 ? -0 : i === 7 ? Infinity : Math.round(r * 100) / 10,
        count: i % 3 === 0 ? -(2 ** 40) - i : 2 ** 32 + i * 7,
        small: i % 4 === 0 ? null : i % 2 === 0 ? -i : 1_000_000 + i,
        flag: r < 0.3,
        // nulls only for a whole row group, then long strings of every length
        note: i < 1_500 ? null : "x".repeat(i % 90) + String(i),
        // a 32-bit dictionary, and booleans, with nulls between
        level: i % 5 === 0 ? null : ((i % 300) * (i % 300) * 7_919) % 1_000_003,
        ok: i % 6 === 0 ? null : r < 0.5,
      };
    });
    const bytes = encodeParquet(columns, rows, { rowGroupSize: 1_000 });
    const back = await readBoth(bytes);
    expect(back).toHaveLength(n);
    for (let i = 0; i < n; i++) {
      const want = rows[i]!;
      const got = back[i]!;
      expect(got.id).toBe(want.id);
      expect((got.at as Date).getTime()).toBe(want.at.getTime());
      expect(Object.is(got.value, want.value)).toBe(true);
      expect(got.count).toBe(want.count);
      expect(got.small).toBe(want.small);
      expect(got.flag).toBe(want.flag);
      expect(got.note).toBe(want.note);
      expect(got.level).toBe(want.level);
      expect(got.ok).toBe(want.ok);
    }
    // Statistics as hyparquet decodes them: each row group's min, max and nulls, as the rows hold them.
    const meta = parquetMetadata(bytes.slice().buffer);
    expect(meta.row_groups).toHaveLength(5);
    // Each way of encoding values was exercised: dictionaries, deltas (constant steps; steps of
    // 21 bits, nulls between), and plain where deltas pass 32 bits.
    const encodings = Object.fromEntries(meta.row_groups[1]!.columns.map((c, i) => [columns[i]!.name, c.meta_data!.encodings]));
    expect(encodings).toMatchObject({
      id: expect.arrayContaining(["RLE_DICTIONARY"]),
      at: expect.arrayContaining(["DELTA_BINARY_PACKED"]),
      small: expect.arrayContaining(["DELTA_BINARY_PACKED"]),
      count: expect.arrayContaining(["PLAIN"]),
      value: expect.arrayContaining(["RLE_DICTIONARY"]),
      level: expect.arrayContaining(["RLE_DICTIONARY"]),
    });
    const order = (a: unknown, b: unknown) => (a instanceof Date && b instanceof Date ? a.getTime() - b.getTime() : a! < b! ? -1 : a! > b! ? 1 : 0);
    meta.row_groups.forEach((group, g) => {
      const slice = rows.slice(g * 1_000, (g + 1) * 1_000) as Record<string, unknown>[];
      group.columns.forEach((chunk, c) => {
        const name = columns[c]!.name;
        const values = slice.map((r) => r[name]).filter((v) => v !== null && !Number.isNaN(v));
        const stats = chunk.meta_data!.statistics!;
        expect(stats.null_count, name).toBe(BigInt(slice.length - values.length - slice.filter((r) => Number.isNaN(r[name])).length));
        if (values.length === 0) return expect(stats.min_value, name).toBeUndefined();
        if (name === "note") return; // strings past 64 bytes get no min and max
        const sorted = values.sort(order);
        // (a zero minimum is written as -0 and a zero maximum as +0, as the format asks)
        const plainOf = (v: unknown) => (typeof v === "bigint" ? Number(v) : v === 0 ? 0 : v);
        expect(plainOf(stats.min_value), `${name} min in group ${g}`).toEqual(plainOf(sorted[0]));
        expect(plainOf(stats.max_value), `${name} max in group ${g}`).toEqual(plainOf(sorted.at(-1)));
      });
    });
  });

  it("writes an empty file both readers read", async () => {
    const bytes = encodeParquet(columns, []);
    expect(await readBoth(bytes)).toEqual([]);
  });

  it("splits a chunk of long strings into pages of about a megabyte, and gives up a string dictionary past one", async () => {
    const long: ColumnSpec[] = [
      { name: "post", type: "string", nullable: true },
      { name: "lang", type: "string", nullable: false },
      { name: "seq", type: "int64", nullable: false },
    ];
    const next = random(11);
    // 6,000 posts of 100-1,100 characters (about 6 MB of UTF-8, a null now and then), in one row group;
    // 2,000 distinct 600-character tags (1.2 MB: past a dictionary page's bound).
    const rows = Array.from({ length: 6_000 }, (_, i) => ({
      post: i % 13 === 5 ? null : `${i}:` + "é".repeat(Math.floor(next() * 1_000)) + "x".repeat(100),
      lang: `${i % 2_000}`.padEnd(600, "-"),
      seq: 1_000_000 + i,
    }));
    const bytes = encodeParquet(long, rows);
    const back = await readBoth(bytes);
    expect(back).toHaveLength(rows.length);
    back.forEach((row, i) => {
      expect(row.post).toBe(rows[i]!.post);
      expect(row.lang).toBe(rows[i]!.lang);
      expect(row.seq).toBe(rows[i]!.seq);
    });
    const posts = pagesOf(bytes, 0);
    expect(posts.length).toBeGreaterThanOrEqual(4);
    expect(posts.every((p) => p.type === 0)).toBe(true); // data pages only: no dictionary
    // A page ends at the first multiple of eight rows past PAGE_BYTES: eight posts (2.1 KB at most) over.
    expect(Math.max(...posts.map((p) => p.bytes))).toBeLessThan(PAGE_BYTES + 8 * 2_200 + 1_000);
    expect(posts.slice(0, -1).every((p) => p.rows % 8 === 0)).toBe(true);
    expect(posts.reduce((n, p) => n + p.rows, 0)).toBe(rows.length);
    const tags = pagesOf(bytes, 1);
    expect(tags.every((p) => p.type === 0)).toBe(true); // the dictionary was given up: plain pages
    expect(tags.length).toBeGreaterThanOrEqual(3);
    expect(pagesOf(bytes, 2)).toHaveLength(1);
  });

  it("splits fixed-width chunks too: integers as deltas and doubles with nulls, page by page", async () => {
    const specs: ColumnSpec[] = [
      { name: "seq", type: "int64", nullable: false },
      { name: "reading", type: "float64", nullable: true },
    ];
    const next = random(5);
    // 140,000 rows in one row group: 1.1 MB of 8-byte values a column, two pages each.
    const rows = Array.from({ length: 140_000 }, (_, i) => ({ seq: 5_000_000 + 3 * i, reading: i % 29 === 3 ? null : next() }));
    const bytes = encodeParquet(specs, rows, { rowGroupSize: rows.length });
    const back = await readBoth(bytes);
    expect(back).toHaveLength(rows.length);
    back.forEach((row, i) => {
      expect(row.seq).toBe(rows[i]!.seq);
      expect(row.reading).toBe(rows[i]!.reading);
    });
    const meta = parquetMetadata(bytes.slice().buffer);
    expect(meta.row_groups[0]!.columns[0]!.meta_data!.encodings).toContain("DELTA_BINARY_PACKED");
    expect(pagesOf(bytes, 0)).toHaveLength(2);
    expect(pagesOf(bytes, 1)).toHaveLength(2);
  });
});
