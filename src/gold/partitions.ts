// Partitioned gold datasets: a dataset with millions of groups (a station a day over decades)
// declares `partitions`, and its groups are split by a hash of their key into that many parts,
// each going up the merge tree on its own. A silver task writes its batch's states one object a
// part; a merge task combines its inputs' states one part at a time; the final merge turns each
// part into rows and writes them as row groups of the dataset's one file (src/gold/states-io.ts).
// No task holds more than one part of its subtree's groups: the final merge holds the dataset's
// groups / partitions, whatever their number. Rows come sorted by group within each part, and the
// parts in order.
import { hash32 } from "../hash";
import type { GoldDataset, States } from "./aggregates";

/** The most parts a dataset may have: each is an object per task (R2 writes) and a row group of the output. */
export const MAX_PARTITIONS = 256;

export const partitionsOf = (d: GoldDataset) => d.partitions ?? 1;

/** The part a group goes to, from its key: the same in every task and run. */
export const partitionOf = (groupKey: string, parts: number) => hash32(groupKey) % parts;

/** `states` split into `parts` (each holding the same group objects, not copies). */
export function splitStates(states: States, parts: number): States[] {
  const split: States[] = Array.from({ length: parts }, () => ({}));
  for (const [key, group] of Object.entries(states)) split[partitionOf(key, parts)]![key] = group;
  return split;
}
