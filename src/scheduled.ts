// Cron Triggers: each firing starts the runs of every schedule bound to that cron (with
// catch-up), the compactions bound to it, and the quality sweep.
import type { Env } from "./env";
import { PIPELINES } from "./pipelines";
import { registryStub } from "./stubs";

export interface FiringReport {
  pipeline: string;
  schedule: string;
  outcome: string;
  runs: string[];
}

export async function runScheduled(cron: string, scheduledTime: number, env: Env): Promise<FiringReport[]> {
  const reports: FiringReport[] = [];
  for (const pipeline of PIPELINES) {
    for (const schedule of pipeline.schedules.filter((s) => s.cron === cron)) {
      const result = await registryStub(env, pipeline.name).fire(pipeline.name, schedule.name, scheduledTime);
      reports.push({ pipeline: pipeline.name, schedule: schedule.name, ...result });
    }
    for (const compaction of pipeline.compactions.filter((c) => c.cron === cron)) {
      const result = await registryStub(env, pipeline.name).compactFiring(pipeline.name, compaction.name, scheduledTime);
      reports.push({ pipeline: pipeline.name, schedule: `compact:${compaction.name}`, ...result });
    }
  }
  return reports;
}
