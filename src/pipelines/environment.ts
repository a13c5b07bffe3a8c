// What each wrangler environment changes of a pipeline, from JSON vars read when first used (a
// bad value fails loudly rather than running with the wrong settings):
//   SLUICE_SCHEDULES  "<pipeline>/<schedule>": "on" | "paused" | { cron?, paused? }
//                     (dev paused, staging at 07:00, production at 06:00, from one definition)
//   SLUICE_NOTIFY     "<pipeline>": the webhook targets here, instead of the declared ones
//   SLUICE_QUALITY    "<pipeline>": { "<check name>": { min?, max?, maxFlaggedPercent?, severity? } }
//                     (a check's threshold or severity here, e.g. warn-only in staging)
// A schedule `paused` in its definition (a weekly full refresh) waits for someone to resume it.
import { z } from "zod";
import type { Env } from "../env";
import { jsonVar } from "../json-var";
import { checkName, type QualityCheck } from "../quality/checks";
import type { Notify, Pipeline } from "./define";
import { nextFiring, type Schedule } from "./schedule";

const cron = z.string().refine((c) => {
  try {
    nextFiring(c, new Date(0));
    return true;
  } catch {
    return false;
  }
}, "a five-field cron expression (UTC)");

const pipelineName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "keys are pipeline names");

const schedules = jsonVar(
  "SLUICE_SCHEDULES",
  z.record(
    z.string().regex(/^[a-z0-9][a-z0-9-]*\/[a-z0-9][a-z0-9-]*$/, 'keys are "<pipeline>/<schedule>"'),
    z.union([z.enum(["on", "paused"]), z.object({ cron: cron.optional(), paused: z.boolean().optional() }).strict()]),
  ),
);

const secretName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, "a secret's name");
const notifySchema = z
  .object({
    url: z.url().optional(),
    email: z
      .object({ to: z.union([z.email(), z.array(z.email()).min(1)]), from: z.email() })
      .strict()
      .optional(),
    on: z.array(z.enum(["queued", "running", "succeeded", "partial", "failed", "cancelled", "timed_out", "quality_warning"])).optional(),
    signingSecret: secretName.optional(),
    auth: z
      .object({ header: z.string().min(1), secret: secretName, scheme: z.string().optional() })
      .strict()
      .optional(),
  })
  .strict()
  .refine((n) => (n.url === undefined) !== (n.email === undefined), "each target has a url or an email, not both");
const notify = jsonVar("SLUICE_NOTIFY", z.record(pipelineName, z.array(notifySchema)));

const quality = jsonVar(
  "SLUICE_QUALITY",
  z.record(
    pipelineName,
    z.record(
      z.string(),
      z
        .object({
          min: z.number().optional(),
          max: z.number().optional(),
          maxFlaggedPercent: z.number().optional(),
          severity: z.enum(["fatal", "warn"]).optional(),
        })
        .strict(),
    ),
  ),
);

type Vars = Pick<Env, "SLUICE_SCHEDULES" | "SLUICE_NOTIFY" | "SLUICE_QUALITY">;

/** A pipeline's or a flow's schedules as this environment runs them: each one's cron and whether it starts paused. */
export function schedulesFor<S extends Pick<Schedule, "name" | "cron" | "paused">>(env: Vars, owner: { name: string; schedules: S[] }): S[] {
  if (!env.SLUICE_SCHEDULES) return owner.schedules;
  const all = schedules(env.SLUICE_SCHEDULES);
  return owner.schedules.map((s) => {
    const setting = all[`${owner.name}/${s.name}`];
    if (setting === undefined) return s;
    if (typeof setting === "string") return { ...s, paused: setting === "paused" };
    return { ...s, cron: setting.cron ?? s.cron, paused: setting.paused ?? s.paused };
  });
}

/** The webhook targets this environment calls for the pipeline. */
export function notifyFor(env: Vars, pipeline: Pipeline): Pipeline["notify"] {
  const targets: Notify[] | undefined = env.SLUICE_NOTIFY ? notify(env.SLUICE_NOTIFY)[pipeline.name] : undefined;
  return targets === undefined ? pipeline.notify : targets.map((t) => ({ ...t, on: t.on ?? ["failed", "timed_out"] }));
}

/** The pipeline's quality checks with this environment's thresholds and severities; the same function when it changes none. */
export function qualityFor(env: Vars, pipeline: Pipeline): Pipeline["quality"] {
  const overrides = env.SLUICE_QUALITY ? quality(env.SLUICE_QUALITY)[pipeline.name] : undefined;
  if (!overrides) return pipeline.quality;
  return (params) =>
    pipeline.quality(params).map((c): QualityCheck => {
      const o = overrides[checkName(c)];
      if (!o) return c;
      const severity = o.severity ?? c.severity;
      switch (c.kind) {
        case "minRows":
        case "minDistinct":
          return { ...c, min: o.min ?? c.min, severity };
        case "maxNullPercent":
          return { ...c, max: o.max ?? c.max, severity };
        case "valueRange":
          return { ...c, min: o.min ?? c.min, max: o.max ?? c.max, maxFlaggedPercent: o.maxFlaggedPercent ?? c.maxFlaggedPercent, severity };
        default:
          return { ...c, severity };
      }
    });
}
