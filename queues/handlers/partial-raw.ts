// What a paged or items batch keeps in R2 when a delivery waits or fails part way: its raw so far,
// as the same document (`runs/<id>/partial/<batch>.json`). The next delivery takes it up as it
// streams back; a forced run starts over.
import { layout } from "../../src/r2/layout";
import type { Spool, Spooled } from "../../src/r2/spool";
import { TaskFailure } from "../../src/upstream/classify";
import { storeStaged } from "../../src/upstream/staged-body";

export const utf8 = (s: string) => new TextEncoder().encode(s);

const JSON_TYPE = { httpMetadata: { contentType: "application/json" } };

export interface Where {
  bucket: R2Bucket;
  runId: string;
  batchId: string;
  /** A forced run starts over, whatever an earlier delivery kept. */
  force: boolean;
}

export const partialKey = (where: Where) => layout.partialRaw(where.runId, where.batchId);

/**
 * Hand an earlier delivery's partial raw to `copy`, if there is one (and the run is not forced);
 * whether there was. One this code did not write, or cut short, is dropped with what `spool`
 * holds, and the task fails to start over.
 */
export async function takeUp(where: Where, spool: Spool, copy: (partial: R2ObjectBody) => Promise<void>): Promise<boolean> {
  const key = partialKey(where);
  const earlier = where.force ? null : await where.bucket.get(key);
  if (!earlier) return false;
  try {
    await copy(earlier);
  } catch (err) {
    await spool.abort();
    await where.bucket.delete(key);
    throw new TaskFailure({ type: "bad_partial_raw", message: `${key}: ${err instanceof Error ? err.message : String(err)}`, class: "retryable" });
  }
  return true;
}

/** Keep a partial raw for the next delivery (from memory, or copied from its staging object). */
export async function keepPartial(where: Where, spooled: Spooled): Promise<void> {
  const key = partialKey(where);
  if ("held" in spooled) await where.bucket.put(key, spooled.held, JSON_TYPE);
  else await storeStaged(where.bucket, spooled.staged, key, JSON_TYPE);
}
