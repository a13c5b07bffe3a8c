// Bench: Parquet writers side by side in workerd on the seeds' silver rows (911,808), each timed
// from the rows to the file's bytes, best of 3: sluice's own encoder (src/parquet/encode, ZSTD),
// parquet-wasm (rows → Arrow → IPC → wasm; sluice's writer until 2026-12-02) with ZSTD, Snappy and
// none, and hyparquet-writer (pure JS, from the rows' columns) uncompressed and with Snappy (the
// codec it has built in; ZSTD needs a compressor it does not ship). Every output is read back
// with hyparquet (rows and temperature sum).
// Run alone: npx vitest run --project bench-workerd test/bench/parquet-writers.bench.ts
// (with Node 22 first on PATH, as npm run puts it). One "BENCH {json}" line.
import { tableToIPC } from "apache-arrow";
import { decompress } from "fzstd";
import { parquetReadObjects } from "hyparquet";
import { parquetWriteBuffer, type ColumnSource } from "hyparquet-writer";
import { expect, it } from "vitest";
import { rowsToTable, type ColumnSpec, type Row } from "../../src/arrow/columns";
import { encodeParquet } from "../../src/parquet/encode/file";
import { loadParquet, type ParquetWasm } from "../../src/parquet/wasm";
import { getPipeline } from "../helpers";
import { clock, seedsSilverRows } from "./seeds-rows";

type Codec = "UNCOMPRESSED" | "SNAPPY" | "ZSTD";

const BASIC = { string: "STRING", float64: "DOUBLE", int32: "INT32", int64: "INT64", bool: "BOOLEAN", timestamp: "TIMESTAMP" } as const;

function hyparquet(columns: ColumnSpec[], rows: readonly Row[], codec: Codec): Uint8Array {
  const columnData: ColumnSource[] = columns.map((c) => ({
    name: c.name,
    type: BASIC[c.type],
    nullable: c.nullable,
    data: rows.map((r) => (r[c.name] ?? null) as never),
  }));
  return new Uint8Array(parquetWriteBuffer({ columnData, codec: codec === "ZSTD" ? "SNAPPY" : codec, rowGroupSize: 65_536, statistics: true }));
}

function wasm(pq: ParquetWasm, columns: ColumnSpec[], rows: readonly Row[], codec: Codec): Uint8Array {
  const ipc = tableToIPC(rowsToTable(columns, rows), "stream");
  const props = new pq.WriterPropertiesBuilder()
    .setCompression(pq.Compression[codec])
    .setStatisticsEnabled(pq.EnabledStatistics.Chunk)
    .setDictionaryEnabled(false)
    .setMaxRowGroupSize(65_536)
    .build();
  return pq.writeParquet(pq.Table.fromIPCStream(ipc), props);
}

it("writers", async () => {
  const columns = getPipeline("sample-weather").columns;
  const { rows, temperatureSum } = seedsSilverRows();
  const pq = await loadParquet();
  const writers: Record<string, () => Uint8Array> = {
    "sluice ZSTD": () => encodeParquet(columns, rows),
    "parquet-wasm ZSTD": () => wasm(pq, columns, rows, "ZSTD"),
    "parquet-wasm SNAPPY": () => wasm(pq, columns, rows, "SNAPPY"),
    "parquet-wasm UNCOMPRESSED": () => wasm(pq, columns, rows, "UNCOMPRESSED"),
    "hyparquet-writer SNAPPY": () => hyparquet(columns, rows, "SNAPPY"),
    "hyparquet-writer UNCOMPRESSED": () => hyparquet(columns, rows, "UNCOMPRESSED"),
  };
  const out: Record<string, { ms: number[]; bytes: number }> = {};
  for (const [name, write] of Object.entries(writers)) {
    const ms: number[] = [];
    let bytes: Uint8Array = new Uint8Array();
    for (let i = 0; i < 3; i++) {
      const t = await clock();
      bytes = write();
      ms.push((await clock()) - t);
    }
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const read = await parquetReadObjects({ file, columns: ["temperature"], compressors: { ZSTD: (input: Uint8Array) => decompress(input) } });
    expect(read).toHaveLength(rows.length);
    const sum = read.reduce((n, r) => n + ((r.temperature as number | null) ?? 0), 0);
    expect(Math.abs(sum - temperatureSum)).toBeLessThan(1e-6 * Math.abs(temperatureSum));
    out[name] = { ms, bytes: bytes.byteLength };
  }
  console.log(`BENCH ${JSON.stringify({ bench: "parquet-writers", rows: rows.length, writers: out })}`);
}, 600_000);
