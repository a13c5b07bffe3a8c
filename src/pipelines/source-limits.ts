// Per-deployment limits of an upstream: `SLUICE_SOURCE_LIMITS` (a JSON object keyed by source
// name) overrides what a pipeline declares, for an account on another plan or a sandbox. Checked
// when read: a bad value fails loudly rather than running at the wrong rate.
import { z } from "zod";
import type { Env } from "../env";
import type { Source } from "./define";

const overridesSchema = z.record(
  z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
  z
    .object({
      perSecond: z.number().positive().max(100_000).optional(),
      burst: z.number().int().min(1).max(100_000).optional(),
      perHour: z.number().int().min(1).optional(),
      concurrency: z.number().int().min(1).max(1_000).optional(),
    })
    .strict(),
);

let cached: { raw: string; overrides: z.infer<typeof overridesSchema> } | undefined;

function overrides(raw: string): z.infer<typeof overridesSchema> {
  if (cached?.raw === raw) return cached.overrides;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error("SLUICE_SOURCE_LIMITS is not JSON");
  }
  const parsed = overridesSchema.safeParse(json);
  if (!parsed.success) throw new Error(`SLUICE_SOURCE_LIMITS is not valid: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  cached = { raw, overrides: parsed.data };
  return parsed.data;
}

/** The source with this deployment's overrides applied. */
export function sourceFor(env: Pick<Env, "SLUICE_SOURCE_LIMITS">, source: Source): Source {
  if (!env.SLUICE_SOURCE_LIMITS) return source;
  const o = overrides(env.SLUICE_SOURCE_LIMITS)[source.name];
  if (!o) return source;
  const { concurrency, ...rate } = o;
  return { ...source, rateLimit: { ...source.rateLimit, ...rate }, concurrency: concurrency ?? source.concurrency };
}
