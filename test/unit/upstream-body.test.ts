// boundedBody: an upstream's body read whole as bytes, whatever its Content-Length says (right,
// short as a compressed length is, long as a cut-off answer's is, or absent), refused past the bound.
import { describe, expect, it } from "vitest";
import { boundedBody } from "../../src/upstream/body";
import { TaskFailure } from "../../src/upstream/classify";

const URL_ = "https://upstream.example/data";

/** A response streaming `bytes` in chunks of `size`, with the Content-Length `stated` (or none). */
function response(bytes: Uint8Array, size: number, stated?: number): Response {
  let at = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
  const response = new Response(body);
  if (stated !== undefined) response.headers.set("content-length", String(stated));
  return response;
}

const bytesOf = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) % 251);

describe("boundedBody", () => {
  it("returns every byte, whatever length the answer states", async () => {
    const bytes = bytesOf(10_000);
    for (const stated of [10_000, 4_000, 20_000, undefined]) {
      for (const size of [1_000, 3_333]) expect(await boundedBody(response(bytes, size, stated), 1 << 20, URL_), `stated ${stated}, chunks of ${size}`).toEqual(bytes);
    }
    expect(await boundedBody(new Response(null), 10, URL_)).toEqual(new Uint8Array(0));
  });

  it("refuses a body past the bound, by its stated length or as it streams", async () => {
    const bytes = bytesOf(5_000);
    for (const stated of [5_000, 100, undefined]) {
      const err = await boundedBody(response(bytes, 1_000, stated), 4_096, URL_).catch((e: unknown) => e);
      expect(err, `stated ${stated}`).toBeInstanceOf(TaskFailure);
      expect((err as TaskFailure).detail).toMatchObject({ type: "response_too_large", class: "permanent" });
    }
    expect(await boundedBody(response(bytes, 1_000), 5_000, URL_)).toEqual(bytes); // exactly the bound
  });
});
