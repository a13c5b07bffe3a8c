// A Parquet file's rows a row group at a time, so a reader holds one row group's rows however
// large the file: the streaming refine → silver path and its sorted runs read this way.
import { tableFromIPC } from "apache-arrow";
import type { Row } from "../arrow/columns";
import { tableToRows } from "../arrow/table-rows";
import { loadParquet } from "./wasm";

/** The rows of each row group of `file` (an R2 object's blob: wasm copies one row group's bytes at a time), in order. */
export async function* rowGroups(source: Blob): AsyncGenerator<Row[]> {
  const pq = await loadParquet();
  const file = await pq.ParquetFile.fromFile(source);
  try {
    const count = file.metadata().numRowGroups();
    for (let i = 0; i < count; i++) {
      const table = await file.read({ rowGroups: [i] });
      yield tableToRows(tableFromIPC(table.intoIPCStream()));
    }
  } finally {
    file.free();
  }
}
