// Schedules per environment. `SLUICE_SCHEDULES` (a JSON object, one per wrangler environment)
// says, for any "<pipeline>/<schedule>", "on", "paused", or { cron, paused }: dev paused, staging
// at 07:00, production at 06:00, from one definition. A schedule `paused` in its definition (a
// weekly full refresh) waits for someone to resume it. Checked when read: a bad value fails
// loudly rather than firing at the wrong time.
import { z } from "zod";
import { jsonVar } from "../json-var";
import type { Env } from "../env";
import type { Pipeline } from "./define";
import { nextFiring, type Schedule } from "./schedule";

const cron = z.string().refine((c) => {
  try {
    nextFiring(c, new Date(0));
    return true;
  } catch {
    return false;
  }
}, "a five-field cron expression (UTC)");

const settingsSchema = z.record(
  z.string().regex(/^[a-z0-9][a-z0-9-]*\/[a-z0-9][a-z0-9-]*$/, 'keys are "<pipeline>/<schedule>"'),
  z.union([z.enum(["on", "paused"]), z.object({ cron: cron.optional(), paused: z.boolean().optional() }).strict()]),
);

const settings = jsonVar("SLUICE_SCHEDULES", settingsSchema);

/** The pipeline's schedules as this environment runs them: its cron and whether it starts paused. */
export function schedulesFor(env: Pick<Env, "SLUICE_SCHEDULES">, pipeline: Pipeline): Schedule[] {
  if (!env.SLUICE_SCHEDULES) return pipeline.schedules;
  const all = settings(env.SLUICE_SCHEDULES);
  return pipeline.schedules.map((s) => {
    const setting = all[`${pipeline.name}/${s.name}`];
    if (setting === undefined) return s;
    if (typeof setting === "string") return { ...s, paused: setting === "paused" };
    return { ...s, cron: setting.cron ?? s.cron, paused: setting.paused ?? s.paused };
  });
}
