// Written → validated → marked done → (gold) passed quality → marked published. Readers of
// silver take what has a done marker; readers of gold take what has a published marker.
import type { OutputFile } from "../types";
import { sha256Hex } from "../hash";
import { layout, versionName } from "./layout";
import type { RunWindow } from "../pipelines/windows";

function isOutputFile(value: unknown): value is OutputFile {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.key === "string" && typeof v.rows === "number" && typeof v.bytes === "number" && typeof v.sha256 === "string";
}

/** A done marker: the file, and whatever its writer measured of it (a silver profile). */
export type DoneMarker = OutputFile & { profile?: unknown };

/** The done marker of `key`, or null when the object was never completed. */
export async function readDone(bucket: R2Bucket, key: string): Promise<DoneMarker | null> {
  const marker = await bucket.get(layout.done(key));
  if (!marker) return null;
  const value: unknown = await marker.json();
  if (!isOutputFile(value) || value.key !== key) throw new Error(`corrupt done marker for ${key}`);
  return value;
}

export async function markDone(bucket: R2Bucket, file: DoneMarker): Promise<void> {
  await bucket.put(layout.done(file.key), JSON.stringify(file), { httpMetadata: { contentType: "application/json" } });
}

/**
 * Put an object already validated by its writer, check R2 stored every byte, then mark it done.
 * Rewriting the same key with the same bytes is harmless, so a redelivered task may repeat it.
 */
export async function putDone(bucket: R2Bucket, key: string, bytes: Uint8Array, rows: number, contentType: string, profile?: unknown): Promise<OutputFile> {
  const sha256 = await sha256Hex(bytes);
  const stored = await bucket.put(key, bytes, { httpMetadata: { contentType }, sha256 });
  if (!stored || stored.size !== bytes.length) throw new Error(`R2 stored ${stored?.size ?? 0} of ${bytes.length} bytes for ${key}`);
  const file: OutputFile = { key, rows, bytes: bytes.length, sha256 };
  await markDone(bucket, profile === undefined ? file : { ...file, profile });
  return file;
}

/** A published marker: gold that passed its run's quality phase (or a compaction of such gold). */
export type PublishedMarker = OutputFile & { runId: string; version: string; publishedAt: string };

/** Mark `file` published: written before the coordinator records it as the output it serves. */
export async function markPublished(bucket: R2Bucket, marker: PublishedMarker): Promise<void> {
  await bucket.put(layout.published(marker.key), JSON.stringify(marker), { httpMetadata: { contentType: "application/json" } });
}

/** The published marker of `key`, or null when that output never passed quality. */
export async function readPublished(bucket: R2Bucket, key: string): Promise<PublishedMarker | null> {
  const marker = await bucket.get(layout.published(key));
  if (!marker) return null;
  const value: unknown = await marker.json();
  if (!isOutputFile(value) || value.key !== key) throw new Error(`corrupt published marker for ${key}`);
  return value as PublishedMarker;
}

/**
 * The latest published version of the dataset's window: versions are listed under the window's
 * Hive folder and tried newest first; one without a `.published` marker (failed quality, or not
 * finished) is skipped. Null when none passed.
 */
export async function latestPublished(bucket: R2Bucket, dataset: string, window: RunWindow): Promise<PublishedMarker | null> {
  const prefix = `gold/dataset=${dataset}/${window.hive}/version=${window.name}_v`;
  const versions: number[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor, delimiter: "/" });
    for (const p of page.delimitedPrefixes) {
      const n = Number(p.slice(prefix.length, -1));
      if (Number.isInteger(n) && n > 0) versions.push(n);
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  for (const n of versions.sort((a, b) => b - a)) {
    const key = `gold/dataset=${dataset}/${window.hive}/version=${versionName({ window: window.name, hive: window.hive, n }, "gold")}/part-00000.parquet`;
    const marker = await readPublished(bucket, key);
    if (marker) return marker;
  }
  return null;
}

/** The latest published version of a dataset across its windows (the last one published), or null. */
export async function latestPublishedOfAnyWindow(bucket: R2Bucket, dataset: string): Promise<PublishedMarker | null> {
  const prefix = `gold/dataset=${dataset}/`;
  let newest: R2Object | null = null;
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor });
    for (const o of page.objects) if (o.key.endsWith(".published") && (!newest || o.uploaded > newest.uploaded)) newest = o;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return newest ? readPublished(bucket, newest.key.slice(0, -".published".length)) : null;
}
