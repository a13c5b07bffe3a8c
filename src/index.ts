// The sluice Worker: HTTP API, queue consumer, Durable Object classes.
import { app } from "./app";
import type { Env } from "./env";
import { consumeDeadLetters, consumeTasks } from "../queues/consumer";

export { RunCoordinator } from "../durable-objects/run-coordinator";
export { PipelineRegistry } from "../durable-objects/pipeline-registry";
export { RateLimiter } from "../durable-objects/rate-limiter";
export { SampleUpstream } from "../durable-objects/sample-upstream";

export default {
  fetch: app.fetch,
  async queue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
    if (batch.queue.endsWith("-dlq")) await consumeDeadLetters(batch, env);
    else await consumeTasks(batch, env);
  },
} satisfies ExportedHandler<Env>;
