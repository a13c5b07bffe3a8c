// An upstream's answer too large to hold: streamed into a staging object in R2 as it arrives,
// through one part buffer, bounded by `maxResponseBytes` like a held body, then parsed from R2 to
// check it and copied under its bronze raw key. An answer that ends within HOLD_BYTES is held
// whole as before (most pages are far smaller, and staging costs three R2 operations). Memory is
// flat in the body's size: HOLD_BYTES, then the part buffer, and at most STAGED_AT_ONCE bodies
// stream through buffers in one isolate at a time, however many ingest tasks its consumer runs.
import { joinBytes } from "../bytes";
import { Gate } from "../concurrency";
import { R2Sink, MIN_PART_SIZE } from "../r2/multipart-sink";
import type { Spooled } from "../r2/spool";
import { boundedBody, responseTooLarge } from "./body";

/** An answer up to this size is held whole; past it, it streams to R2. */
export const HOLD_BYTES = 1024 * 1024;
/** Bodies streaming into R2 at once in one isolate (each holds a part buffer of up to 5 MiB). */
export const STAGED_AT_ONCE = 4;
const staging = new Gate(STAGED_AT_ONCE);

/**
 * Read `response`'s body: held when it ends within HOLD_BYTES, otherwise streamed into `key`.
 * Past `max` bytes (by Content-Length or as it streams) it fails for good and nothing stays staged.
 */
export async function receiveBody(response: Response, options: { max: number; url: string; bucket: R2Bucket; key: string }): Promise<Spooled> {
  const { max, url } = options;
  const stated = Number(response.headers.get("content-length") ?? NaN);
  if (!response.body || stated <= HOLD_BYTES || stated > max) return { held: await boundedBody(response, max, url) };
  const reader = response.body.getReader();
  const first: Uint8Array[] = [];
  let size = 0;
  try {
    // No length stated (or more than HOLD_BYTES): hold what comes until it passes HOLD_BYTES.
    while (!(stated > HOLD_BYTES) && size <= HOLD_BYTES) {
      const { done, value } = await reader.read();
      if (done) return { held: joinBytes(first) };
      size += value.byteLength;
      if (size > max) throw responseTooLarge(url, max);
      first.push(value);
    }
    return { staged: await staging.run(() => stage(reader, first, size, options)) };
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    throw err;
  }
}

/** The rest of the body into the staging object, after the chunks already read. */
async function stage(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  first: Uint8Array[],
  size: number,
  { max, url, bucket, key }: { max: number; url: string; bucket: R2Bucket; key: string },
) {
  const sink = new R2Sink(bucket, key, MIN_PART_SIZE);
  try {
    for (const chunk of first.splice(0)) await sink.write(chunk);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > max) throw responseTooLarge(url, max);
      await sink.write(value);
    }
    const { bytes, sha256 } = await sink.finish();
    return { key, bytes, sha256 };
  } catch (err) {
    await sink.abort();
    throw err;
  }
}

/** The staged body as it streams back from R2 (for the parser that checks it). */
export async function* stagedChunks(bucket: R2Bucket, key: string): AsyncGenerator<Uint8Array> {
  const object = await bucket.get(key);
  if (!object) throw new Error(`staged body ${key} is missing`);
  yield* object.body;
}

/**
 * Copy the staged body to `target` with its metadata (`onlyIf` as given: write once), then drop
 * the staging object. Null when `onlyIf` refused the write (another run stored it first).
 */
export async function storeStaged(bucket: R2Bucket, staged: { key: string; sha256: string }, target: string, options: R2PutOptions): Promise<R2Object | null> {
  const object = await bucket.get(staged.key);
  if (!object) throw new Error(`staged body ${staged.key} is missing`);
  // R2 takes a stream only of a known length: stated here, so any stream of the object will do.
  const body = object.body.pipeThrough(new FixedLengthStream(object.size));
  const written = await bucket.put(target, body, { ...options, sha256: staged.sha256 });
  if (!written) await body.cancel().catch(() => undefined);
  await bucket.delete(staged.key);
  return written;
}

/**
 * Delete every object under `prefix`: what a task staged and never stored (it failed for good, or
 * its worker stopped between staging and storing), once nothing can store it any more.
 */
export async function dropStaged(bucket: R2Bucket, prefix: string): Promise<number> {
  let dropped = 0;
  for (let listed = await bucket.list({ prefix }); ; listed = await bucket.list({ prefix, cursor: listed.cursor })) {
    const keys = listed.objects.map((o) => o.key);
    if (keys.length > 0) await bucket.delete(keys);
    dropped += keys.length;
    if (!listed.truncated) return dropped;
  }
}
