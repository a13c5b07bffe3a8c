// Gold that passed quality is published: a `.published` marker in R2, then the run's
// `published` output, the one the output endpoint and the dashboard serve.
import { markPublished } from "../../src/r2/done";
import { layout, versionName } from "../../src/r2/layout";
import type { OutputFile } from "../../src/types";
import type { CoordinatorStore, RunRow } from "./store";

/** Mark gold that passed as published, in R2 and then in the run: from now on it is the output served. */
export async function publish(bucket: R2Bucket, store: CoordinatorStore, run: RunRow, output: OutputFile, now: number): Promise<void> {
  const version = run.version ? versionName(run.version, "gold") : "";
  await markPublished(bucket, { ...output, runId: run.id, version, publishedAt: new Date(now).toISOString() });
  store.publish(output);
}

/** The served output measured again and failed: its marker goes first, so a retry after a crash withdraws it again. */
export async function withdraw(bucket: R2Bucket, store: CoordinatorStore, output: OutputFile): Promise<void> {
  await bucket.delete(layout.published(output.key));
  store.publish(null);
}
