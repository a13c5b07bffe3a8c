// Bench: parquet-wasm writer settings side by side on the seeds' silver rows (statistics, dictionaries,
// row group size, codec). Run alone: npx vitest run --project bench-workerd test/bench/parquet-variants.bench.ts
// (with Node 22 first on PATH, as npm run puts it). One "BENCH <variant> {ms, bytes}" line per variant.
import { tableToIPC } from "apache-arrow";
import { it } from "vitest";
import { rowsToTable } from "../../src/arrow/columns";
import { loadParquet } from "../../src/parquet/wasm";
import { getPipeline } from "../helpers";
import { clock, seedsSilverRows } from "./seeds-rows";

it("variants", async () => {
  const columns = getPipeline("sample-weather").columns;
  const { rows } = seedsSilverRows();
  const pq = await loadParquet();
  const ipc = tableToIPC(rowsToTable(columns, rows), "stream");
  const base = () => new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).setMaxRowGroupSize(65_536);
  const variants: Record<string, () => ReturnType<typeof base>> = {
    base,
    statsChunk: () => base().setStatisticsEnabled(pq.EnabledStatistics.Chunk),
    noDict: () => base().setDictionaryEnabled(false),
    noDictChunk: () => base().setDictionaryEnabled(false).setStatisticsEnabled(pq.EnabledStatistics.Chunk),
    floatNoDictChunk: () => {
      let b = base().setStatisticsEnabled(pq.EnabledStatistics.Chunk);
      for (const c of columns) if (c.type === "float64" || c.type === "timestamp") b = b.setColumnDictionaryEnabled(c.name, false);
      return b;
    },
    rg128kNoDictChunk: () => base().setMaxRowGroupSize(131_072).setDictionaryEnabled(false).setStatisticsEnabled(pq.EnabledStatistics.Chunk),
    rg128kfloatNoDictChunk: () => {
      let b = base().setMaxRowGroupSize(131_072).setStatisticsEnabled(pq.EnabledStatistics.Chunk);
      for (const c of columns) if (c.type === "float64" || c.type === "timestamp") b = b.setColumnDictionaryEnabled(c.name, false);
      return b;
    },
    none: () => new pq.WriterPropertiesBuilder().setCompression(pq.Compression.UNCOMPRESSED).setMaxRowGroupSize(65_536),
  };
  const out: Record<string, { ms: number[]; bytes: number }> = {};
  for (const [name, make] of Object.entries(variants)) {
    const ms: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 3; i++) {
      const t = pq.Table.fromIPCStream(ipc);
      const t0 = await clock();
      bytes = pq.writeParquet(t, make().build()).length;
      ms.push((await clock()) - t0);
    }
    out[name] = { ms, bytes };
    console.log(`BENCH ${name} ${JSON.stringify(out[name])}`);
  }
}, 600_000);
