// The quality phase inside the coordinator: the silver tasks' profiles, measured against the
// pipeline's checks (no data is read again), its manifest, the verdict that ends the run, and
// gold that passed published: a `.published` marker in R2, then the run's `published` output.
import { arrowSchema } from "../../src/arrow/columns";
import { schemaFingerprint } from "../../src/parquet/read";
import type { Pipeline } from "../../src/pipelines/define";
import type { BatchProfile } from "../../src/quality/checks";
import { evaluateQuality, type ProfiledBatch, type QualityReport } from "../../src/quality/evaluate";
import { putJson } from "../../src/manifests";
import { layout, versionName } from "../../src/r2/layout";
import type { BatchSpec, Json, OutputFile, RunStatus } from "../../src/types";
import { markPublished, readDone } from "../../src/r2/done";
import { datasetNames } from "../../src/gold/changes";
import type { CoordinatorStore, RunRow, TaskRow } from "./store";

export function runQuality(pipeline: Pipeline, params: Json, silver: TaskRow[], batchSpec: (id: string) => BatchSpec | null): QualityReport {
  const profiled: ProfiledBatch[] = silver.flatMap((t) => {
    const batch = t.batchId ? batchSpec(t.batchId) : null;
    if (!batch || !t.profile) return [];
    return [{ batchId: batch.id, profile: t.profile as unknown as BatchProfile, window: pipeline.batchWindow(batch), keys: pipeline.batchKeys(batch) }];
  });
  return evaluateQuality(pipeline.quality(params), profiled, schemaFingerprint(arrowSchema(pipeline.columns)));
}

/**
 * Measure the run's checks, write `quality-v<n>.json`, publish gold that passed (withdraw the
 * served output if it was measured again and failed), and say how the run ends.
 */
export async function judgeQuality(
  bucket: R2Bucket,
  store: CoordinatorStore,
  run: RunRow,
  pipeline: Pipeline,
  now: number,
  output: OutputFile | undefined,
): Promise<{ status: RunStatus; reason: string | null; output: OutputFile | null }> {
  const report = runQuality(pipeline, run.params, store.latest("succeeded", "silver"), (id) => store.batchSpec(id));
  store.setQuality(report);
  store.phaseFinished("quality", now);
  const version = run.version!;
  await putJson(bucket, layout.qualityManifest(run.id, version.n), {
    kind: "quality",
    runId: run.id,
    version: versionName(version, "gold"),
    ...report,
    writtenAt: new Date(now).toISOString(),
  });
  if (!report.passed) {
    if (output && run.published?.key === output.key) await withdraw(bucket, store, output);
    return { status: "failed", reason: report.reason, output: output ?? null };
  }
  if (output) {
    // The gold datasets computed with it pass or fail with it: published first, so a served output always has them.
    for (const name of datasetNames(pipeline)) {
      const file = await readDone(bucket, layout.goldDataset(pipeline.name, name, version));
      if (file)
        await markPublished(bucket, {
          key: file.key,
          rows: file.rows,
          bytes: file.bytes,
          sha256: file.sha256,
          runId: run.id,
          version: versionName(version, "gold"),
          publishedAt: new Date(now).toISOString(),
        });
    }
    await publish(bucket, store, run, output, now);
  }
  const lost = store.lostBatches();
  const gone = store.deadItemCount();
  const gaps = [lost > 0 ? `${lost} of ${run.batches} batches missing from the output` : "", gone > 0 ? `${gone} items gone upstream (dead list)` : ""]
    .filter(Boolean)
    .join("; ");
  return { status: gaps ? "partial" : "succeeded", reason: gaps || null, output: output ?? null };
}

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
