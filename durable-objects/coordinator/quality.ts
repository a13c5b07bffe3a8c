// The quality phase inside the coordinator: the silver tasks' profiles, measured against the
// pipeline's checks. No data is read again.
import { arrowSchema } from "../../src/arrow/columns";
import { schemaFingerprint } from "../../src/parquet/read";
import type { Pipeline } from "../../src/pipelines/define";
import type { BatchProfile } from "../../src/quality/checks";
import { evaluateQuality, type ProfiledBatch, type QualityReport } from "../../src/quality/evaluate";
import type { BatchSpec, Json } from "../../src/types";
import type { TaskRow } from "./store";

export function runQuality(pipeline: Pipeline, params: Json, silver: TaskRow[], batchSpec: (id: string) => BatchSpec | null): QualityReport {
  const profiled: ProfiledBatch[] = silver.flatMap((t) => {
    const batch = t.batchId ? batchSpec(t.batchId) : null;
    if (!batch || !t.profile) return [];
    return [{ batchId: batch.id, profile: t.profile as unknown as BatchProfile, window: pipeline.batchWindow(batch), keys: pipeline.batchKeys(batch) }];
  });
  return evaluateQuality(pipeline.quality(params), profiled, schemaFingerprint(arrowSchema(pipeline.columns)));
}
