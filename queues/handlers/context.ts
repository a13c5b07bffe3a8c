import type { Env } from "../../src/env";
import type { Pipeline } from "../../src/pipelines/define";
import type { DeadItem, OutputFile, TaskMessage } from "../../src/types";
import type { BatchProfile } from "../../src/quality/checks";
import type { TokenPool } from "../tokens";

/** What a task handler gets. */
export interface TaskContext {
  env: Env;
  message: TaskMessage;
  pipeline: Pipeline;
  /** Rate-limit tokens of the pipeline's upstream (ingest only). */
  tokens: TokenPool;
}

/** What a handler returns when its task succeeded. */
export interface TaskOutcome {
  output: OutputFile;
  reused: boolean;
  badRows?: number;
  badRowSamples?: string[];
  /** Silver: what the batch holds, for the quality phase. */
  profile?: BatchProfile;
  /** Ingest: items of the batch that were gone. */
  deadItems?: DeadItem[];
}

/** The rate limiter had no token soon: put the message back with this delay. Not a failure. */
export class Deferred extends Error {
  constructor(readonly delayMs: number) {
    super(`deferred ${delayMs} ms for rate limit tokens`);
    this.name = "Deferred";
  }
}
