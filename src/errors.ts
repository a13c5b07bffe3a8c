import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** The one error shape of the API: `{ "error": { "code", "message", "details"? } }`. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** An error meant for the API's caller: carries its HTTP status and a stable code. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Why a Durable Object refused a request: each code has one HTTP status. */
export const REFUSALS = {
  not_found: 404,
  run_ended: 409,
  run_active: 409,
  run_succeeded: 409,
  nothing_to_redrive: 409,
  not_rerunnable: 409,
  plan_changed: 400,
} as const satisfies Record<string, ContentfulStatusCode>;
export type RefusalCode = keyof typeof REFUSALS;

/**
 * The one error Durable Object methods throw for a request they refuse (a run that has ended, a
 * run not found). Workers RPC carries only an error's name and message across, so the code
 * travels in both: `refusalOf` turns it back into the API's error, in `app.onError`.
 */
export class Refusal extends Error {
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = "Refusal";
  }
}

/** A Refusal thrown here or across RPC, as the API error it stands for; null for any other error. */
export function refusalOf(err: unknown): ApiError | null {
  if (!(err instanceof Error) || err.name !== "Refusal") return null;
  const m = /^([a-z_]+): ([\s\S]*)$/.exec(err.message);
  if (!m || !Object.hasOwn(REFUSALS, m[1]!)) return null;
  const code = m[1] as RefusalCode;
  return new ApiError(REFUSALS[code], code, m[2]!);
}

export const notFound = (what: string, details?: unknown) => new ApiError(404, "not_found", `${what} not found`, details);
export const badRequest = (code: string, message: string, details?: unknown) => new ApiError(400, code, message, details);
export const conflict = (code: string, message: string, details?: unknown) => new ApiError(409, code, message, details);

export function errorBody(code: string, message: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

export function errorResponse(c: Context, err: ApiError): Response {
  return c.json(errorBody(err.code, err.message, err.details), err.status);
}

/** Narrow an unknown thrown value to a message, for logs and manifests. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === "string" ? err : JSON.stringify(err);
}
