// One limit per source per deployment. Every pipeline that names a source must declare the same
// windows and in-flight bound (checked when the catalog is built: a conflict refuses to start),
// and `SLUICE_SOURCE_LIMITS` (a JSON object keyed by source name) may override them for an
// account on another plan or a sandbox. Checked when read: a bad value fails loudly rather than
// running at the wrong rate.
import { z } from "zod";
import { jsonVar } from "../json-var";
import type { Env } from "../env";
import { rateLimitSchema } from "../upstream/limits";
import type { Pipeline, Source } from "./define";

const overridesSchema = z.record(
  z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
  z
    .object({
      rateLimit: rateLimitSchema.optional(),
      concurrency: z.number().int().min(1).max(1_000).optional(),
    })
    .strict(),
);

const overrides = jsonVar("SLUICE_SOURCE_LIMITS", overridesSchema);

/** The source with this deployment's overrides applied. */
export function sourceFor(env: Pick<Env, "SLUICE_SOURCE_LIMITS">, source: Source): Source {
  if (!env.SLUICE_SOURCE_LIMITS) return source;
  const o = overrides(env.SLUICE_SOURCE_LIMITS)[source.name];
  if (!o) return source;
  return { ...source, rateLimit: o.rateLimit ?? source.rateLimit, concurrency: o.concurrency ?? source.concurrency };
}

const limitOf = (s: Source) =>
  JSON.stringify({ rateLimit: s.rateLimit.map((w) => ({ requests: w.requests, per: w.per, burst: w.burst ?? null })), concurrency: s.concurrency });

/**
 * Throws when two pipelines declare one source with different limits: a source has one set of
 * windows and one in-flight bound per deployment, not whichever pipeline called last.
 */
export function checkSharedSources(pipelines: readonly Pipeline[]): void {
  const first = new Map<string, Pipeline>();
  for (const p of pipelines) {
    const seen = first.get(p.source.name);
    if (!seen) first.set(p.source.name, p);
    else if (limitOf(seen.source) !== limitOf(p.source)) {
      throw new Error(
        `source ${p.source.name} is declared with different limits by pipelines ${seen.name} (${limitOf(seen.source)}) and ${p.name} (${limitOf(p.source)}): declare it once and share it`,
      );
    }
  }
}
