// Cron Triggers: each firing starts the runs of every schedule bound to that cron (with
// catch-up), the compactions bound to it, and the quality sweep, of the pipelines this
// environment runs (no sample pipeline where the sample upstream is off), and the runs of the
// flows whose schedules are bound to it.
import type { Env } from "./env";
import type { Catalog } from "./catalog";
import { flowStub } from "../durable-objects/rpc/flow";
import { registryStub } from "../durable-objects/rpc/registry";

export interface FiringReport {
  /** The pipeline fired (empty for a flow's firing). */
  pipeline: string;
  /** The flow fired, for a flow's schedule. */
  flow?: string;
  schedule: string;
  outcome: string;
  runs: string[];
}

/** Daily at 12:00 UTC: re-check the quality of the runs that ended in the last week. */
export const QUALITY_SWEEP_CRON = "0 12 * * *";
const SWEEP_LOOKBACK_MS = 7 * 86_400_000;

export async function runScheduled(catalog: Catalog, cron: string, scheduledTime: number, env: Env): Promise<FiringReport[]> {
  const reports: FiringReport[] = [];
  if (cron === QUALITY_SWEEP_CRON) {
    for (const pipeline of catalog.runnable(env)) {
      const checked = await registryStub(env, pipeline.name).qualitySweep(pipeline.name, scheduledTime - SWEEP_LOOKBACK_MS);
      reports.push({ pipeline: pipeline.name, schedule: "quality-sweep", outcome: checked.length > 0 ? "started" : "nothing_new", runs: checked });
    }
  }
  for (const pipeline of catalog.runnable(env)) {
    for (const schedule of pipeline.schedules.filter((s) => s.cron === cron)) {
      const result = await registryStub(env, pipeline.name).fire(pipeline.name, schedule.name, scheduledTime);
      reports.push({ pipeline: pipeline.name, schedule: schedule.name, ...result });
    }
    for (const compaction of pipeline.compactions.filter((c) => c.cron === cron)) {
      const result = await registryStub(env, pipeline.name).compactFiring(pipeline.name, compaction.name, scheduledTime);
      reports.push({ pipeline: pipeline.name, schedule: `compact:${compaction.name}`, ...result });
    }
  }
  for (const flow of catalog.runnableFlows(env)) {
    for (const schedule of flow.schedules.filter((s) => s.cron === cron)) {
      const result = await flowStub(env, flow.name).fire(flow.name, schedule.name, scheduledTime);
      reports.push({ pipeline: "", flow: flow.name, schedule: schedule.name, ...result });
    }
  }
  return reports;
}
