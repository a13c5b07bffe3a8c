// Triggers on data, in the downstream pipeline's registry: which upstreams delivered a window,
// and the run that window gets once all have. Its id comes from the trigger and the window
// (`<pipeline>-<trigger>-<window>`), so the last upstream to arrive starts it once, however many
// times each arrives (a re-run, a backfill over the same days).
import { nameOf, type DateWindow, type Trigger } from "../../src/pipelines/schedule";
import type { RegistryStore } from "./store";

export interface TriggerWindow {
  window: DateWindow;
  /** Upstreams whose run of the window succeeded (or ended partial), and those still awaited. */
  delivered: string[];
  awaited: string[];
  /** The run the window got once nothing was awaited, and its status. */
  runId: string | null;
  status: string;
}

export const triggerRunId = (pipeline: string, trigger: string, window: DateWindow) => `${pipeline}-${trigger}-${nameOf(window).name.toLowerCase()}`;

/** A trigger's window as its inputs stand: delivered, awaited, and its run if it has one. */
export function triggerWindow(store: RegistryStore, pipeline: string, trigger: Trigger, window: DateWindow): TriggerWindow {
  const delivered = store.triggerInputs(trigger.name, window.from).map((i) => i.upstream);
  const awaited = trigger.after.filter((a) => !delivered.includes(a));
  const run = store.run(triggerRunId(pipeline, trigger.name, window));
  return { window, delivered, awaited, runId: run?.id ?? null, status: run ? run.status : awaited.length > 0 ? "waiting" : "ready" };
}
