// How many tasks of each kind one consumer invocation runs at once. Its messages share one
// isolate (128 MB): ingest is bounded by its source's `concurrency`, merges run one at a time,
// and refine and silver four at a time each while small. A refine or silver task holds up to a
// row group of its rows as objects (10–33 MiB live once a batch reaches 65,536 rows, bench
// section 6), so one whose input holds HEAVY_ROWS rows or more goes to a lane of its own that
// runs one task at a time, whatever its phase: eight small ones (about 3.5 MiB each at 17,472
// rows) and one large stay near 60 MiB, where eight large ones could need 260.
import type { TaskMessage } from "../src/types";

/** From this many input rows, a refine or silver task runs alone (about 5 MiB of row objects). */
export const HEAVY_ROWS = 16_384;

const SMALL_AT_ONCE = { refine: 4, silver: 4 } as const;

export interface Lane<J> {
  name: string;
  jobs: J[];
  concurrency: number;
}

/** The invocation's jobs in lanes, each run with its own bound (empty lanes left out). */
export function lanes<J extends { body: TaskMessage; pipeline: { source: { concurrency: number } } }>(jobs: J[]): Lane<J>[] {
  const of = (kind: TaskMessage["input"]["kind"]) => jobs.filter((j) => j.body.input.kind === kind);
  const heavy = (j: J) => {
    const input = j.body.input;
    return (input.kind === "refine" || input.kind === "silver") && (input.inputRows ?? 0) >= HEAVY_ROWS;
  };
  const ingest = of("ingest");
  const all: Lane<J>[] = [
    { name: "ingest", jobs: ingest, concurrency: Math.max(1, ...ingest.map((j) => j.pipeline.source.concurrency)) },
    { name: "refine", jobs: of("refine").filter((j) => !heavy(j)), concurrency: SMALL_AT_ONCE.refine },
    { name: "silver", jobs: of("silver").filter((j) => !heavy(j)), concurrency: SMALL_AT_ONCE.silver },
    { name: "large", jobs: jobs.filter(heavy), concurrency: 1 },
    { name: "merge", jobs: of("merge"), concurrency: 1 },
  ];
  return all.filter((l) => l.jobs.length > 0);
}
