// When a run or its current phase times out: the earliest of the two deadlines, with its reason.
import type { Pipeline } from "../../src/pipelines/define";
import type { RunRow } from "./store";

/** The earliest of the run's and the current phase's timeouts. */
export function runDeadline(run: RunRow, pipeline: Pipeline, phaseStartedAt: number | null | undefined): { at: number; reason: string } | null {
  const options: { at: number; reason: string }[] = [];
  const runMs = run.options.timeoutMs ?? pipeline.timeouts.runMs;
  const from = run.reopenedAt ?? run.startedAt; // a redrive or re-run has the whole timeout again
  if (runMs !== undefined && from !== null) options.push({ at: from + runMs, reason: `the run exceeded its timeout of ${runMs} ms` });
  const phaseMs = run.phase ? pipeline.timeouts.phaseMs[run.phase] : undefined;
  if (phaseMs !== undefined && phaseStartedAt != null)
    options.push({ at: phaseStartedAt + phaseMs, reason: `phase ${run.phase} exceeded its timeout of ${phaseMs} ms` });
  return options.sort((a, b) => a.at - b.at)[0] ?? null;
}
