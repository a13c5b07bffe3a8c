// The sluice Worker: HTTP API, queue consumer, Durable Object classes.
import { app } from "./app";
import type { Env } from "./env";
import { consumeDeadLetters, consumeTasks } from "../queues/consumer";
import { runScheduled } from "./scheduled";

export { RunCoordinator } from "../durable-objects/run-coordinator";
export { PipelineRegistry } from "../durable-objects/pipeline-registry";
export { RateLimiter } from "../durable-objects/rate-limiter";
export { SampleUpstream } from "../durable-objects/sample-upstream";

export default {
  fetch: app.fetch,
  async scheduled(controller: ScheduledController, env: Env): Promise<void> {
    const reports = await runScheduled(controller.cron, controller.scheduledTime, env);
    for (const r of reports) console.log(`cron ${controller.cron}: ${r.pipeline}/${r.schedule} ${r.outcome} ${r.runs.join(", ")}`);
  },
  async queue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
    if (batch.queue.endsWith("-dlq")) await consumeDeadLetters(batch, env);
    else await consumeTasks(batch, env);
  },
} satisfies ExportedHandler<Env>;
