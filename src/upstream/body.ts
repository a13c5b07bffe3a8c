// An upstream's answer read into memory, bounded: ingest holds a small body whole (as bytes,
// once) until it is checked and stored; a large one of a streaming parser goes through R2
// (staged-body.ts).
import { joinBytes } from "../bytes";
import { TaskFailure } from "./classify";

/** Bodies past this fail their task permanently unless the source says otherwise (`maxResponseBytes`). */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/** The permanent failure of an answer past `max` bytes. */
export function responseTooLarge(url: string, max: number): TaskFailure {
  return new TaskFailure({
    type: "response_too_large",
    message: `the upstream's answer to ${new URL(url).origin}${new URL(url).pathname} is over ${max} bytes (source.maxResponseBytes)`,
    class: "permanent",
  });
}

/**
 * The body's bytes, refused (permanently) past `max` bytes, by its Content-Length or as it
 * streams; read into one buffer of the stated length when there is one (held once, not twice).
 */
export async function boundedBody(response: Response, max: number, url: string): Promise<Uint8Array> {
  const tooLarge = () => responseTooLarge(url, max);
  const stated = Number(response.headers.get("content-length") ?? NaN);
  if (stated > max) {
    await response.body?.cancel();
    throw tooLarge();
  }
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let into = Number.isSafeInteger(stated) ? new Uint8Array(stated) : null;
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > max) {
      await reader.cancel();
      throw tooLarge();
    }
    if (into && size + value.byteLength <= into.length) into.set(value, size);
    else {
      // More than the stated length (or none stated): gather the chunks and join them at the end.
      if (into) chunks.push(into.subarray(0, size));
      into = null;
      chunks.push(value);
    }
    size += value.byteLength;
  }
  return into ? into.subarray(0, size) : joinBytes(chunks);
}

