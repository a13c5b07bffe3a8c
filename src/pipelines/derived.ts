// Derived pipelines: a pipeline whose input is another pipeline's published gold (its output, or
// one of its gold datasets) for a window, not an HTTP source. A run plans one batch: the latest
// version of that window whose `.published` marker says it passed its run's quality phase. Ingest
// downloads nothing — it checks the object is still the one published and records it (lineage:
// the run's `inputs` and manifest name the upstream run, version, key and sha256); refine reads its
// rows from Parquet, `select` maps them to this pipeline's rows, and silver, aggregate and quality
// run as for any pipeline. Triggered by the upstream's runs (`triggers`), it runs per window.
import { z } from "zod";
import type { Row } from "../arrow/columns";
import type { Json } from "../types";
import { latestPublished, type PublishedMarker } from "../r2/done";
import { definePipeline, type Pipeline, type PipelineDefinition, type PlannedBatch } from "./define";
import { windowOf, type RunWindow } from "./windows";
import { datasetNames } from "../gold/changes";

export interface DerivedInput {
  /** The upstream pipeline (the definition: its windows and its sample-ness come with it). */
  pipeline: Pipeline;
  /** One of its gold datasets instead of its output. */
  dataset?: string;
}

type Inherited =
  | "name"
  | "description"
  | "rowSchema"
  | "key"
  | "quality"
  | "gold"
  | "schedules"
  | "triggers"
  | "notify"
  | "timeouts"
  | "retries"
  | "maxConcurrentRuns"
  | "whenBusy";

export interface DerivedDefinition extends Pick<PipelineDefinition<DerivedParams>, Inherited> {
  from: DerivedInput;
  /** An upstream row → this pipeline's refined row, or null to leave it out (default: the row as it is). */
  select?(row: Row): Row | null;
  /** Silver transform (units, derived fields), as for any pipeline. */
  transform?(row: Row, params: DerivedParams): Row;
}

export const derivedParams = z
  .object({
    /** The window: its first day and the day after its last. */
    from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "a date as YYYY-MM-DD"),
    to: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "a date as YYYY-MM-DD"),
  })
  .strict()
  .refine((p) => p.from < p.to, { message: "from must be before to", path: ["to"] });
export type DerivedParams = z.infer<typeof derivedParams>;

/** What a derived run's batch holds: the published object it reads (its lineage). */
export interface DerivedBatchData {
  input: PublishedMarker & { pipeline: string; dataset: string | null };
}

/** The dataset name a derived pipeline reads: `<upstream>` or `<upstream>-<dataset>`. */
const datasetOf = (from: DerivedInput) => (from.dataset ? `${from.pipeline.name}-${from.dataset}` : from.pipeline.name);

export function defineDerivedPipeline(def: DerivedDefinition): Pipeline {
  const { from } = def;
  if (from.dataset !== undefined && !datasetNames(from.pipeline).includes(from.dataset))
    throw new Error(`pipeline ${def.name}: ${from.pipeline.name} has no gold dataset ${from.dataset}`);
  const dataset = datasetOf(from);
  const window = (p: DerivedParams): RunWindow => windowOf(p.from, p.to);
  const pipeline = definePipeline<DerivedParams>({
    ...def,
    params: derivedParams,
    // No upstream is called: the source names the dataset read, for bronze paths and the limiter
    // (never asked: ingest takes no token), and carries the upstream's origin (a derived sample
    // pipeline runs only where the sample does).
    source: {
      name: `derived-${dataset}`,
      baseUrl: from.pipeline.source.baseUrl,
      rateLimit: [{ requests: 1000, per: "1s" }],
      concurrency: 16,
      timeoutMs: 60_000,
    },
    async *planStream(params, ctx): AsyncIterable<PlannedBatch> {
      const w = window(params);
      const marker = await latestPublished(ctx.bucket, dataset, w);
      if (!marker) throw new Error(`no published ${dataset} for ${w.name}: its run has not passed quality yet`);
      const data: DerivedBatchData = { input: { ...marker, pipeline: from.pipeline.name, dataset: from.dataset ?? null } };
      yield { partition: `derived/${dataset}/${w.hive}/${marker.version}`, data: data as unknown as Record<string, Json> };
    },
    parse: () => {
      throw new Error(`pipeline ${def.name} reads Parquet, not upstream bodies`);
    },
    request: () => {
      throw new Error(`pipeline ${def.name} calls no upstream`);
    },
    window,
    maxAttempts: 3,
  });
  return { ...pipeline, derived: { pipeline: from.pipeline.name, dataset: from.dataset ?? null, select: def.select ?? ((row) => row) } };
}

/** The published input a derived run's batch reads. */
export function derivedInput(data: Record<string, unknown>): DerivedBatchData["input"] {
  const input = (data as Partial<DerivedBatchData>).input;
  if (!input || typeof input.key !== "string" || typeof input.sha256 !== "string") throw new Error("a derived batch without its input");
  return input;
}
