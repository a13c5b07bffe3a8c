import type { RunCoordinator } from "../durable-objects/run-coordinator";
import type { PipelineRegistry } from "../durable-objects/pipeline-registry";
import type { RateLimiter } from "../durable-objects/rate-limiter";
import type { SampleUpstream } from "../durable-objects/sample-upstream";
import type { TaskMessage } from "./types";

/** The bindings and variables of the sluice Worker (wrangler.toml). */
export interface Env {
  RUN_COORDINATOR: DurableObjectNamespace<RunCoordinator>;
  PIPELINE_REGISTRY: DurableObjectNamespace<PipelineRegistry>;
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  /** The sample upstream's state: bound only where the sample is deployed (this repository's own Worker). */
  SAMPLE_UPSTREAM_STATE?: DurableObjectNamespace<SampleUpstream>;
  BUCKET: R2Bucket;
  TASKS: Queue<TaskMessage>;
  /** Bearer token for the API. Unset: mutating endpoints refuse every request. */
  SLUICE_API_TOKEN?: string;
  /** "enabled" serves the synthetic upstream under /sample and lets pipelines call it. */
  SAMPLE_UPSTREAM?: string;
  /** "true" lets GET endpoints answer without a token. */
  PUBLIC_READS?: string;
  /** JSON: per-source overrides of rate limits and concurrency, e.g. {"sample-edr":{"rateLimit":[{"requests":20,"per":"1s"}],"concurrency":8}}. */
  SLUICE_SOURCE_LIMITS?: string;
  /** JSON: per-environment schedule settings, e.g. {"orders/daily":"paused","orders/weekly":{"cron":"0 7 * * 1"}} (src/pipelines/schedule-settings.ts). */
  SLUICE_SCHEDULES?: string;
  /** "true" where the queue keeps messages in memory (wrangler dev, tests): a restarted coordinator re-sends its running tasks at once. */
  SLUICE_QUEUE_IN_MEMORY?: string;
  /** Re-send a task that has not reported for this many ms (default 30 minutes). */
  SLUICE_STALE_TASK_MS?: string;
}
