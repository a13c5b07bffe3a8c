// createSluice: one deployment of sluice over a user's pipelines. It returns the Worker's
// handlers and the Durable Object classes bound to that catalog; the user's entry file
// re-exports them (the class names are the ones wrangler.toml binds):
//
//   const sluice = createSluice({ pipelines: [orders] });
//   export const { RunCoordinator, PipelineRegistry, RateLimiter, FlowCoordinator } = sluice;
//   export default sluice.worker;
import { consumeDeadLetters, consumeTasks } from "../queues/consumer";
import { FlowCoordinator as UnboundFlowCoordinator } from "../durable-objects/flow-coordinator";
import { PipelineRegistry as UnboundRegistry } from "../durable-objects/pipeline-registry";
import { RateLimiter } from "../durable-objects/rate-limiter";
import { RunCoordinator as UnboundCoordinator } from "../durable-objects/run-coordinator";
import { createApp, type App, type Mounts } from "./app";
import { Catalog } from "./catalog";
import type { Env } from "./env";
import type { Pipeline } from "./pipelines/define";
import type { Flow } from "./flows/define";
import { runScheduled } from "./scheduled";

export interface SluiceOptions {
  /** Every pipeline this deployment runs (names unique; a source declared alike by all that use it). */
  pipelines: readonly Pipeline[];
  /** Flows: steps that are runs of these pipelines, chained by `after` (src/flows/define.ts). */
  flows?: readonly Flow[];
  /** Routes served beside sluice's own, by path (e.g. `{ "/sample": sampleRoutes }`). */
  routes?: Mounts;
}

/** A deployment: its catalog, its API, the Worker's handlers, and the Durable Object classes to export. */
export interface Sluice {
  catalog: Catalog;
  app: App;
  /** The Worker's default export. */
  worker: {
    fetch: App["fetch"];
    scheduled(controller: ScheduledController, env: Env): Promise<void>;
    queue(batch: MessageBatch<unknown>, env: Env): Promise<void>;
  };
  RunCoordinator: new (ctx: DurableObjectState, env: Env) => UnboundCoordinator;
  PipelineRegistry: new (ctx: DurableObjectState, env: Env) => UnboundRegistry;
  RateLimiter: typeof RateLimiter;
  /** Bound in wrangler.toml only where the catalog declares flows. */
  FlowCoordinator: new (ctx: DurableObjectState, env: Env) => UnboundFlowCoordinator;
}

export function createSluice(options: SluiceOptions): Sluice {
  const catalog = new Catalog(options.pipelines, options.flows);
  const app = createApp(catalog, options.routes);

  class RunCoordinator extends UnboundCoordinator {
    protected override get catalog(): Catalog {
      return catalog;
    }
  }
  class PipelineRegistry extends UnboundRegistry {
    protected override get catalog(): Catalog {
      return catalog;
    }
  }
  class FlowCoordinator extends UnboundFlowCoordinator {
    protected override get catalog(): Catalog {
      return catalog;
    }
  }

  const worker = {
    fetch: app.fetch,
    async scheduled(controller: ScheduledController, env: Env): Promise<void> {
      const reports = await runScheduled(catalog, controller.cron, controller.scheduledTime, env);
      for (const r of reports) console.log(`cron ${controller.cron}: ${r.flow ?? r.pipeline}/${r.schedule} ${r.outcome} ${r.runs.join(", ")}`);
    },
    async queue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
      if (batch.queue.endsWith("-dlq")) await consumeDeadLetters(batch, env);
      else await consumeTasks(batch, env, catalog);
    },
  } satisfies Sluice["worker"] & ExportedHandler<Env>;

  return { catalog, app, worker, RunCoordinator, PipelineRegistry, RateLimiter, FlowCoordinator };
}
