// A Parquet file's rows a row group at a time, so a reader holds one row group's rows however
// large the file: the streaming refine → silver path and its sorted runs read this way.
import { tableFromIPC } from "apache-arrow";
import { tableToRows, type Row } from "../arrow/columns";
import { loadParquet } from "./wasm";

/** The rows of each row group of `bytes`, in order. */
export async function* rowGroups(bytes: Uint8Array): AsyncGenerator<Row[]> {
  const pq = await loadParquet();
  const file = await pq.ParquetFile.fromFile(new Blob([bytes]));
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
