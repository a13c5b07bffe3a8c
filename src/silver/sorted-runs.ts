// Rows in key order, the first row of each key kept, over more rows than a task can hold: an
// external merge sort. Rows come in chunks (a row group of the input at a time) and are held until
// `runRows`; then they are sorted (stably: equal keys keep their input order), the later rows of a
// key dropped, and written to R2 as a run of small row groups. A batch that fits one run never
// touches R2: it is sorted in memory at the end. Otherwise the runs are merged a row group of each
// at a time through a heap in which equal keys go to the earlier run: the rows, and their order,
// that one stable sort of the whole batch would give.
import type { ColumnSpec, Row } from "../arrow/columns";
import { rowGroups } from "../parquet/row-groups";
import { writeParquetRows } from "../parquet/write";
import type { RowOrder } from "./key-order";

export interface SortLimits {
  /** Rows held before they are sorted and written as a run. */
  runRows: number;
  /** A run's row groups: the merge holds one of each run. */
  runGroupRows: number;
  /** Rows per chunk handed out in order. */
  outRows: number;
}

/** 16 runs for a million rows: the merge holds 32,768 of their rows and one chunk of 65,536 out. */
export const SORT_LIMITS: SortLimits = { runRows: 65_536, runGroupRows: 2_048, outRows: 65_536 };

/** A run being merged: its rows a row group at a time. */
interface Cursor {
  groups: AsyncGenerator<Row[]>;
  rows: Row[];
  at: number;
}

export class SortedRuns {
  private pending: Row[] = [];
  private readonly runs: string[] = [];
  private written = 0;
  /** Rows dropped because an earlier row had the same key. */
  duplicates = 0;

  constructor(
    private readonly bucket: R2Bucket,
    /** Where the runs go (`<prefix>/r00000.parquet`, ...): deleted by `discard`. */
    private readonly prefix: string,
    private readonly columns: ColumnSpec[],
    private readonly order: RowOrder,
    private readonly limits: SortLimits = SORT_LIMITS,
  ) {}

  async add(rows: readonly Row[]): Promise<void> {
    for (const row of rows) {
      this.pending.push(row);
      if (this.pending.length >= this.limits.runRows) await this.spill();
    }
  }

  /** The rows added, sorted by key with the first of each key kept, in chunks of at most `outRows`. */
  async *sorted(): AsyncGenerator<Row[]> {
    if (this.runs.length === 0) {
      const rows = this.sortUnique(this.pending.splice(0));
      for (let i = 0; i < rows.length; i += this.limits.outRows) yield rows.slice(i, i + this.limits.outRows);
      return;
    }
    if (this.pending.length > 0) await this.spill();
    yield* this.merge();
  }

  /** Delete the runs written (after the output is written, or on failure). */
  async discard(): Promise<void> {
    if (this.runs.length > 0) await this.bucket.delete(this.runs.splice(0));
  }

  private sortUnique(rows: Row[]): Row[] {
    rows.sort(this.order);
    const unique = rows.filter((row, i) => i === 0 || this.order(rows[i - 1]!, row) !== 0);
    this.duplicates += rows.length - unique.length;
    return unique;
  }

  private async spill(): Promise<void> {
    const rows = this.sortUnique(this.pending.splice(0));
    const key = `${this.prefix}/r${String(this.runs.length).padStart(5, "0")}.parquet`;
    await this.bucket.put(key, await writeParquetRows(this.columns, rows, this.limits.runGroupRows));
    this.runs.push(key);
    this.written += rows.length;
  }

  private async open(key: string): Promise<Cursor | undefined> {
    const object = await this.bucket.get(key);
    if (!object) throw new Error(`sorted run ${key} is missing`);
    const groups = rowGroups(await object.blob());
    return this.advance({ groups, rows: [], at: 0 });
  }

  /** The cursor at its next row, reading the run's next row group when this one is spent; undefined at its end. */
  private async advance(c: Cursor): Promise<Cursor | undefined> {
    while (c.at >= c.rows.length) {
      const next = await c.groups.next();
      if (next.done) return undefined;
      c.rows = next.value;
      c.at = 0;
    }
    return c;
  }

  private async *merge(): AsyncGenerator<Row[]> {
    const cursors: (Cursor | undefined)[] = [];
    for (const key of this.runs) cursors.push(await this.open(key));
    const head = (r: number) => cursors[r]!.rows[cursors[r]!.at]!;
    const before = (a: number, b: number) => {
      const c = this.order(head(a), head(b));
      return c < 0 || (c === 0 && a < b);
    };
    const heap = new RunHeap(before);
    cursors.forEach((c, r) => c && heap.push(r));
    let out: Row[] = [];
    let last: Row | undefined;
    let read = 0;
    while (heap.size > 0) {
      const r = heap.top;
      const row = head(r);
      read++;
      if (last !== undefined && this.order(last, row) === 0) this.duplicates++;
      else {
        out.push(row);
        last = row;
        if (out.length >= this.limits.outRows) {
          yield out;
          out = [];
        }
      }
      cursors[r]!.at++;
      cursors[r] = await this.advance(cursors[r]!);
      if (cursors[r]) heap.siftDown();
      else heap.pop();
    }
    if (out.length > 0) yield out;
    if (read !== this.written) throw new Error(`the sorted runs gave back ${read} rows of the ${this.written} written`);
  }
}

/** A binary min-heap of run numbers, ordered by `before`. */
class RunHeap {
  private readonly items: number[] = [];
  constructor(private readonly before: (a: number, b: number) => boolean) {}
  get size(): number {
    return this.items.length;
  }
  get top(): number {
    return this.items[0]!;
  }
  push(run: number): void {
    const items = this.items;
    let i = items.push(run) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }
  pop(): void {
    const last = this.items.pop()!;
    if (this.items.length === 0) return;
    this.items[0] = last;
    this.siftDown();
  }
  /** Restore the order after the top's key moved on. */
  siftDown(): void {
    const items = this.items;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < items.length && this.before(items[l]!, items[m]!)) m = l;
      if (r < items.length && this.before(items[r]!, items[m]!)) m = r;
      if (m === i) return;
      [items[i], items[m]] = [items[m]!, items[i]!];
      i = m;
    }
  }
}
