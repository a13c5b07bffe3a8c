// The streaming merge: many Parquet objects → one, through R2 multipart, verified by its footer.
import { readBoth } from "../independent-reader";
import { writeWithParquetWasm } from "../parquet-wasm-writer";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { columnsFromZod } from "../../src/arrow/columns";
import { MIN_PART_SIZE, mergeParquetToR2, rewriteParquetToR2 } from "../../src/parquet/merge";
import { readFooter } from "../../src/parquet/stitch";
import { decodeStruct, encodeStruct } from "../../src/parquet/thrift-compact";
import { footerLength } from "../../src/parquet/thrift-footer";
import { r2RowCount } from "../../src/parquet/thrift-footer";
import { writeParquetRows } from "../../src/parquet/write";
import { putDone } from "../../src/r2/done";
import { sha256Hex } from "../../src/hash";
import { env } from "../helpers";

const schema = z.object({ id: z.int(), value: z.number(), label: z.string() });
const columns = columnsFromZod(schema);

async function putFile(key: string, first: number, rows: number, noise = false, cols = columns) {
  let x = first + 1;
  const data = Array.from({ length: rows }, (_, i) => {
    x = (x * 48271) % 2147483647;
    return { id: first + i, value: noise ? x / 2147483647 : i, label: noise ? x.toString(36) : "a" };
  });
  return putDone(env.BUCKET, key, await writeParquetRows(cols, data), rows, "application/vnd.apache.parquet");
}

describe("streaming merge", () => {
  it("merges files in order, and the footer agrees with the inputs", async () => {
    const inputs = [];
    for (let i = 0; i < 5; i++) inputs.push(await putFile(`t/merge/in-${i}.parquet`, i * 1000, 1000));
    const result = await mergeParquetToR2(env.BUCKET, inputs, "t/merge/out.parquet");
    expect(result.rows).toBe(5000);
    expect(result.method).toBe("rewrite"); // 1,000-row groups: re-encoded into full ones
    const object = await env.BUCKET.get("t/merge/out.parquet");
    const bytes = new Uint8Array(await object!.arrayBuffer());
    expect(result.sha256).toBe(await sha256Hex(bytes));
    const rows = await readBoth(bytes);
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  });

  it("writes outputs over one part with equal-size multipart parts", async () => {
    const inputs = [];
    for (let i = 0; i < 4; i++) inputs.push(await putFile(`t/big/in-${i}.parquet`, i * 150_000, 150_000, true));
    const result = await mergeParquetToR2(env.BUCKET, inputs, "t/big/out.parquet");
    expect(result.bytes).toBeGreaterThan(MIN_PART_SIZE);
    expect(result.parts).toBeGreaterThanOrEqual(2);
    expect(await r2RowCount(env.BUCKET, "t/big/out.parquet")).toBe(600_000);
    const head = await env.BUCKET.head("t/big/out.parquet");
    expect(head?.size).toBe(result.bytes);
  });

  it("refuses inputs whose schemas differ", async () => {
    const a = await putFile("t/mismatch/a.parquet", 0, 10);
    const other = columnsFromZod(z.object({ id: z.int(), value: z.string() }));
    const b = await putDone(env.BUCKET, "t/mismatch/b.parquet", await writeParquetRows(other, [{ id: 1, value: "x" }]), 1, "application/vnd.apache.parquet");
    await expect(mergeParquetToR2(env.BUCKET, [a, b], "t/mismatch/out.parquet")).rejects.toThrow(/schema/);
  });

  it("refuses an input whose rows differ from its marker", async () => {
    const a = await putFile("t/rows/a.parquet", 0, 10);
    await expect(mergeParquetToR2(env.BUCKET, [{ ...a, rows: 11 }], "t/rows/out.parquet")).rejects.toThrow(/holds 10 rows/);
  });
});

describe("stitching: row groups copied, not decoded", () => {
  it("decodes and re-encodes a footer to the same bytes", async () => {
    const bytes = await writeParquetRows(
      columns,
      Array.from({ length: 100 }, (_, i) => ({ id: i, value: i / 3, label: `r${i}` })),
    );
    const length = footerLength(bytes.subarray(bytes.length - 8));
    const footer = bytes.subarray(bytes.length - 8 - length, bytes.length - 8);
    expect(encodeStruct(decodeStruct(footer))).toEqual(footer);
  });

  it("joins files of full row groups by copying them: the same rows, in order, and their row groups", async () => {
    const inputs = [];
    for (let i = 0; i < 3; i++) inputs.push(await putFile(`t/stitch/in-${i}.parquet`, i * 70_000, 70_000, true));
    const result = await mergeParquetToR2(env.BUCKET, inputs, "t/stitch/out.parquet");
    expect(result).toMatchObject({ method: "stitch", rows: 210_000 });
    const bytes = new Uint8Array(await (await env.BUCKET.get("t/stitch/out.parquet"))!.arrayBuffer());
    expect(result.sha256).toBe(await sha256Hex(bytes));
    expect(result.bytes).toBe(bytes.length);
    // Each 70,000-row input holds two row groups (65,536 + 4,464); the output keeps all six.
    expect((await readFooter(env.BUCKET, "t/stitch/out.parquet")).rowGroups).toBe(6);
    const rows = await readBoth(bytes);
    const expected = [];
    for (const input of inputs) expected.push(...(await readBoth(new Uint8Array(await (await env.BUCKET.get(input.key))!.arrayBuffer()))));
    expect(rows.length).toBe(210_000);
    expect(rows.map((r) => r.id)).toEqual(expected.map((r) => r.id));
    expect(rows).toEqual(expected);
    // The same inputs rewritten give the same rows: the two ways agree.
    await rewriteParquetToR2(env.BUCKET, inputs, "t/stitch/rewritten.parquet");
    expect(await readBoth(new Uint8Array(await (await env.BUCKET.get("t/stitch/rewritten.parquet"))!.arrayBuffer()))).toEqual(expected);
  });

  it("stitches a file of sluice's encoder to one parquet-wasm wrote (sluice's writer before it): one schema, both readers read every row", async () => {
    const ours = await putFile("t/mixed/ours.parquet", 0, 70_000, true);
    const rows = Array.from({ length: 70_000 }, (_, i) => ({ id: 70_000 + i, value: i / 7, label: `w${i}` }));
    const theirs = await putDone(env.BUCKET, "t/mixed/theirs.parquet", await writeWithParquetWasm(columns, rows), rows.length, "application/vnd.apache.parquet");
    const footers = await Promise.all([ours, theirs].map((f) => readFooter(env.BUCKET, f.key)));
    expect(footers[0]!.schema).toEqual(footers[1]!.schema);
    const result = await mergeParquetToR2(env.BUCKET, [ours, theirs], "t/mixed/out.parquet");
    expect(result).toMatchObject({ method: "stitch", rows: 140_000 });
    const joined = await readBoth(new Uint8Array(await (await env.BUCKET.get("t/mixed/out.parquet"))!.arrayBuffer()));
    expect(joined.map((r) => r.id)).toEqual(Array.from({ length: 140_000 }, (_, i) => i));
  });

  it("does not stitch files whose schemas differ: the merge refuses them", async () => {
    const a = await putFile("t/stitch-mismatch/a.parquet", 0, 40_000, true);
    const other = columnsFromZod(z.object({ id: z.int(), value: z.number(), label: z.string().nullable() }));
    const b = await putFile("t/stitch-mismatch/b.parquet", 40_000, 40_000, true, other);
    await expect(mergeParquetToR2(env.BUCKET, [a, b], "t/stitch-mismatch/out.parquet")).rejects.toThrow(/schema/);
    expect(await env.BUCKET.head("t/stitch-mismatch/out.parquet")).toBeNull();
  });

  it("refuses an input whose rows differ from its marker before writing anything", async () => {
    const a = await putFile("t/stitch-rows/a.parquet", 0, 40_000, true);
    await expect(mergeParquetToR2(env.BUCKET, [{ ...a, rows: 40_001 }], "t/stitch-rows/out.parquet")).rejects.toThrow(/holds 40000 rows/);
    expect(await env.BUCKET.head("t/stitch-rows/out.parquet")).toBeNull();
  });
});
