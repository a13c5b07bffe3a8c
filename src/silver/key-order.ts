// The order silver rows are written in: by the pipeline's key, columns in turn.
import type { Row } from "../arrow/columns";

export type RowOrder = (a: Row, b: Row) => number;

/** A key value as something `<` orders: epoch ms for a Date, numbers as they are, text otherwise. */
export function sortable(v: unknown): string | number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === "number") return v;
  return String(v);
}

export function compareBy(key: readonly string[]): RowOrder {
  return (a, b) => {
    for (const k of key) {
      const x = sortable(a[k]);
      const y = sortable(b[k]);
      if (x < y) return -1;
      if (x > y) return 1;
    }
    return 0;
  };
}

/** `station_id=06660 observed_at=1704067200000`: where a row is, for a message. */
export const describeKey = (key: readonly string[], row: Row) => key.map((k) => `${k}=${String(sortable(row[k]))}`).join(" ");
