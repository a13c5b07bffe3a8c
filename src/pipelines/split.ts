// The default split of a batch that failed for good: its keys halved, so the keys that fail
// stand alone (bisect on error).
import type { BatchSpec, PlannedBatch } from "../types";
import { fnv1a64 } from "../hash";

/**
 * The default split: the list in the batch's data that equals its keys, halved, each half in the
 * partition `<partition>/keys=<first>-<last>-n<count>-<hash>` (its bronze raw file). Null when
 * there is one key, or no such list.
 */
export function halveByKeys(batch: BatchSpec, keys: string[]): PlannedBatch[] | null {
  if (keys.length < 2) return null;
  const field = Object.keys(batch.data).find((f) => {
    const v = batch.data[f];
    return Array.isArray(v) && v.length === keys.length && v.every((x, i) => x === keys[i]);
  });
  if (field === undefined) return null;
  const middle = Math.ceil(keys.length / 2);
  return [keys.slice(0, middle), keys.slice(middle)].map((half) => ({
    partition: `${batch.partition}/keys=${keysLabel(half)}`,
    data: { ...batch.data, [field]: half },
  }));
}

function keysLabel(keys: string[]): string {
  const safe = (k: string) => k.replace(/[^A-Za-z0-9_.+-]/g, "_").slice(0, 32);
  if (keys.length === 1) return /^[A-Za-z0-9_.+-]{1,32}$/.test(keys[0]!) ? keys[0]! : `${safe(keys[0]!)}-${fnv1a64(keys[0]!).slice(0, 8)}`;
  return `${safe(keys[0]!)}-${safe(keys[keys.length - 1]!)}-n${keys.length}-${fnv1a64(keys.join(",")).slice(0, 8)}`;
}
