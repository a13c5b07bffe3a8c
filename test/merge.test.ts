// The streaming merge: many Parquet objects → one, through R2 multipart, verified by its footer.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { columnsFromZod } from "../src/arrow/columns";
import { MIN_PART_SIZE, mergeParquetToR2 } from "../src/parquet/merge";
import { readParquetRows } from "../src/parquet/read";
import { r2RowCount } from "../src/parquet/thrift-footer";
import { writeParquetRows } from "../src/parquet/write";
import { putDone } from "../src/r2/done";
import { sha256Hex } from "../src/hash";
import { env } from "./helpers";

const schema = z.object({ id: z.int(), value: z.number(), label: z.string() });
const columns = columnsFromZod(schema);

async function putFile(key: string, first: number, rows: number, noise = false) {
  let x = first + 1;
  const data = Array.from({ length: rows }, (_, i) => {
    x = (x * 48271) % 2147483647;
    return { id: first + i, value: noise ? x / 2147483647 : i, label: noise ? x.toString(36) : "a" };
  });
  return putDone(env.BUCKET, key, await writeParquetRows(columns, data), rows, "application/vnd.apache.parquet");
}

describe("streaming merge", () => {
  it("merges files in order, and the footer agrees with the inputs", async () => {
    const inputs = [];
    for (let i = 0; i < 5; i++) inputs.push(await putFile(`t/merge/in-${i}.parquet`, i * 1000, 1000));
    const result = await mergeParquetToR2(env.BUCKET, inputs, "t/merge/out.parquet");
    expect(result.rows).toBe(5000);
    const object = await env.BUCKET.get("t/merge/out.parquet");
    const bytes = new Uint8Array(await object!.arrayBuffer());
    expect(result.sha256).toBe(await sha256Hex(bytes));
    const rows = await readParquetRows(bytes);
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
