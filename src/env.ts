import type { TaskMessage } from "./types";

/** A Durable Object namespace of any class. */
type Namespace = DurableObjectNamespace<Rpc.DurableObjectBranded | undefined>;

/**
 * The bindings and variables of the sluice Worker (wrangler.toml). The Durable Object namespaces
 * are untyped here (src/ does not import the classes); durable-objects/rpc/ types their stubs.
 */
export interface Env {
  RUN_COORDINATOR: Namespace;
  PIPELINE_REGISTRY: Namespace;
  RATE_LIMITER: Namespace;
  /** Flows' coordinators: needed only where the catalog declares flows. */
  FLOW_COORDINATOR?: Namespace;
  /** The sample upstream's state: bound only where the sample is deployed (this repository's own Worker). */
  SAMPLE_UPSTREAM_STATE?: Namespace;
  BUCKET: R2Bucket;
  /** The send_email binding for email notifications; unbound (local runs, tests), messages are recorded, not sent. */
  SLUICE_EMAIL?: SendEmail;
  TASKS: Queue<TaskMessage>;
  /** Bearer token for the API. Unset: mutating endpoints refuse every request. */
  SLUICE_API_TOKEN?: string;
  /** "enabled" serves the synthetic upstream under /sample and lets pipelines call it. */
  SAMPLE_UPSTREAM?: string;
  /** "true" lets GET endpoints answer without a token. */
  PUBLIC_READS?: string;
  /** JSON: per-source overrides of rate limits and concurrency, e.g. {"sample-edr":{"rateLimit":[{"requests":20,"per":"1s"}],"concurrency":8}}. */
  SLUICE_SOURCE_LIMITS?: string;
  /** JSON: per-environment schedule settings, e.g. {"orders/daily":"paused","orders/weekly":{"cron":"0 7 * * 1"}} (src/pipelines/environment.ts). */
  SLUICE_SCHEDULES?: string;
  /** JSON: per-environment webhook targets by pipeline, e.g. {"orders":[{"url":"https://…","on":["failed"]}]}. */
  SLUICE_NOTIFY?: string;
  /** JSON: per-environment check thresholds by pipeline and check name, e.g. {"orders":{"maxNullPercent(customer_id)":{"max":5}}}. */
  SLUICE_QUALITY?: string;
  /** "true" where the queue keeps messages in memory (wrangler dev, tests): a restarted coordinator re-sends its running tasks at once. */
  SLUICE_QUEUE_IN_MEMORY?: string;
  /** Re-send a task that has not reported for this many ms (default 30 minutes). */
  SLUICE_STALE_TASK_MS?: string;
}
