// Identifiers that end up in R2 keys and Durable Object names: validated, so no input can
// address another run's or pipeline's objects.
import { z } from "zod";

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,126}[a-z0-9])?$/;

export const runIdSchema = z.string().regex(SLUG, "run ids are 1-128 characters of a-z, 0-9 and '-', starting and ending with a letter or digit");
export const pipelineNameSchema = z.string().regex(SLUG, "pipeline names are 1-128 characters of a-z, 0-9 and '-'");

export function isRunId(value: string): boolean {
  return SLUG.test(value);
}

/** A new manual run id: `<pipeline>-<yyyymmddThhmmss>-<6 random hex>`. */
export function newRunId(pipeline: string, now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, "").slice(0, 15).toLowerCase();
  const random = Array.from(crypto.getRandomValues(new Uint8Array(3)), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${pipeline}-${stamp}-${random}`;
}

const PARTITION = /^[A-Za-z0-9=_.,+-]+(?:\/[A-Za-z0-9=_.,+-]+)*$/;

/** Partition paths come from pipeline planners: segments of safe characters, never `..`. */
export function assertPartition(partition: string): string {
  if (!PARTITION.test(partition) || partition.split("/").some((s) => s === "." || s === "..")) {
    throw new Error(`unsafe partition path: ${JSON.stringify(partition)}`);
  }
  return partition;
}
