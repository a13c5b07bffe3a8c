// The request schemas of the HTTP API: they validate requests, and /openapi.json is generated
// from them.
import { z } from "zod";
import { PHASES, RUN_STATUSES, TASK_STATUSES } from "../types";
export { backfillSchema } from "../pipelines/backfill";
import { dateSchema } from "../pipelines/backfill";

export const optionsSchema = z
  .object({
    toleratedFailurePercent: z.number().min(0).max(100).optional(),
    retryPasses: z.number().int().min(0).max(5).optional(),
    maxAttempts: z.number().int().min(1).max(20).optional(),
    force: z.boolean().optional(),
    timeoutMs: z
      .number()
      .int()
      .min(1)
      .max(7 * 86_400_000)
      .optional(),
  })
  .strict();

export const submitSchema = z
  .object({
    pipeline: z.string().min(1).max(128),
    params: z.record(z.string(), z.unknown()).default({}),
    options: optionsSchema.default({}),
  })
  .strict();

export const rerunPhase = z.enum(["refine", "silver", "aggregate", "quality"], {
  error: "phase must be refine, silver, aggregate or quality (ingest reads the upstream: submit a new run with options.force)",
});

export const rerunSchema = z.object({ params: z.record(z.string(), z.unknown()).default({}) }).strict();

export const listQuery = z.object({
  pipeline: z.string().optional(),
  status: z.enum(RUN_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z
    .string()
    .regex(/^\d+:[a-z0-9-]+$/)
    .optional(),
});

export const tasksQuery = z.object({
  phase: z.enum(PHASES).optional(),
  status: z.enum(TASK_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.coerce.number().int().min(0).optional(),
});

/** The one error shape. */
export const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

/** `POST /v1/flows/:flow/runs`: the window [from, to) of a flow run. */
export const flowRunSchema = z
  .object({
    /** The window's first day and the day after its last (as schedules give them). */
    from: dateSchema,
    to: dateSchema,
    /** Every step downloads again, whatever bronze holds. */
    force: z.boolean().default(false),
  })
  .strict()
  .refine((b) => b.from < b.to, { message: "from must be before to", path: ["to"] });
