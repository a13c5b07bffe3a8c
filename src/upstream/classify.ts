// Failure classes: retryable (try again later) or permanent (the item is gone or the request
// is wrong; retrying cannot help).
import type { TaskError } from "../types";

export class TaskFailure extends Error {
  readonly detail: TaskError;
  /** How long the upstream asked us to wait, when it said. */
  readonly retryAfterMs: number | undefined;
  constructor(detail: TaskError, retryAfterMs?: number) {
    super(detail.message);
    this.detail = detail;
    this.retryAfterMs = retryAfterMs;
    this.name = "TaskFailure";
  }
}

/** Classify an upstream HTTP status. */
export function classifyStatus(status: number): TaskError["class"] {
  if (status === 429 || status === 408 || status >= 500) return "retryable";
  return "permanent";
}

export function httpFailure(status: number, url: string, retryAfterMs?: number): TaskFailure {
  const type = status === 429 ? "rate_limited" : status === 404 || status === 410 ? "gone" : status >= 500 ? "upstream_5xx" : `http_${status}`;
  const message = `upstream answered ${status} for ${url}${retryAfterMs ? ` (retry after ${retryAfterMs} ms)` : ""}`;
  return new TaskFailure({ type, message, class: classifyStatus(status), status }, retryAfterMs);
}

/** Anything thrown while running a task → a TaskError. Unknown errors are retryable. */
export function toTaskError(err: unknown): TaskError {
  if (err instanceof TaskFailure) return err.detail;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) return { type: "timeout", message, class: "retryable" };
  if (err instanceof SyntaxError) return { type: "unparsable_body", message, class: "retryable" };
  return { type: "error", message, class: "retryable" };
}

/** Exponential backoff with full jitter, in whole seconds for a queue delay. */
export function backoffSeconds(attempt: number, baseSeconds = 1, capSeconds = 300, random: () => number = Math.random): number {
  const ceiling = Math.min(capSeconds, baseSeconds * 2 ** Math.max(0, attempt - 1));
  return Math.max(1, Math.round(random() * ceiling));
}
