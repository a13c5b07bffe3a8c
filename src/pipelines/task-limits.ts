// How large one batch may be. Refine and silver hold a row group at a time whatever the batch's
// size (bench section 6 measures them live); ingest holds a small body whole and streams a large
// one through R2 (src/upstream/staged-body.ts), and refuses one past `source.maxResponseBytes`
// (default 32 MiB: what refine and silver can take in a task's CPU time). A pipeline that can tell
// its bodies' size from its params refuses at submit a plan whose batches would pass that, rather
// than fail each batch at ingest.
import { MAX_RESPONSE_BYTES } from "../upstream/body";

export { MAX_RESPONSE_BYTES };

/** The 400 message for a plan whose batches' bodies would pass the source's `maxResponseBytes`. */
export function bodyTooLarge(bytes: number, max: number, hint: string): string {
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `a batch's upstream body would be about ${mib(bytes)}, over the source's maxResponseBytes (${mib(max)}) (README, Limits): ${hint}`;
}
