// Request bodies: JSON only, size-limited, parsed with a clear 4xx for each way they go wrong.
import type { Context } from "hono";
import type { z } from "zod";
import { ApiError, badRequest } from "../errors";

export const MAX_BODY_BYTES = 256 * 1024;

export function zodDetails(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join(".") || "(body)", message: i.message }));
}

export async function readJson(c: Context, maxBytes = MAX_BODY_BYTES): Promise<unknown> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new ApiError(415, "unsupported_media_type", "send the body as JSON with 'Content-Type: application/json'");
  }
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > maxBytes) throw new ApiError(413, "body_too_large", `the body is over ${maxBytes} bytes`);
  const buffer = await c.req.arrayBuffer();
  if (buffer.byteLength > maxBytes) throw new ApiError(413, "body_too_large", `the body is over ${maxBytes} bytes`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(buffer);
  } catch {
    throw badRequest("invalid_encoding", "the body is not valid UTF-8");
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw badRequest("invalid_json", `the body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Parse with a zod schema; a failure is a 400 naming each bad field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, code: string, what: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw badRequest(
      code,
      `${what}: ${parsed.error.issues.map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`).join("; ")}`,
      zodDetails(parsed.error),
    );
  return parsed.data;
}
