// Heap samples from inside a watched task. workerd lets the inspector in only while the isolate
// waits for something slow, and a task's R2 calls come back too fast for it: a timer in Node took
// two samples (start and end) of a 2-s silver task. So a watched task gets a bucket that, before
// each call and each read of a body (at most every `everyMs` of the isolate's clock), awaits Node
// while Node takes a sample (scripts/lib/workerd-bench.ts, the "sample" mark). Samples fall at the
// task's awaits on R2; what it holds inside a synchronous stretch between two is not seen.
import { mark } from "./seeds-rows";

/** `bucket`, asking Node for a heap sample at its calls and body reads, `everyMs` apart at least. */
export function pulsingBucket(bucket: R2Bucket, everyMs = 20): R2Bucket {
  let last = 0;
  const pulse = async () => {
    const now = Date.now();
    if (now - last < everyMs) return;
    await mark("sample");
    last = Date.now();
  };
  const body = (stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> => {
    const reader = stream.getReader();
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        await pulse();
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
  };
  const withBody = <T,>(object: T): T => {
    if (object === null || typeof object !== "object" || !("body" in object)) return object;
    // Wrapped on first use, so nothing reads the object's own body before the caller does; its
    // readers (arrayBuffer, blob, text, json) read the wrapped stream too.
    let wrapped: ReadableStream<Uint8Array> | undefined;
    const stream = (target: object) => (wrapped ??= body(Reflect.get(target, "body", target) as ReadableStream<Uint8Array>));
    const readers: Record<string, (r: Response) => Promise<unknown>> = {
      arrayBuffer: (r) => r.arrayBuffer(),
      blob: (r) => r.blob(),
      text: (r) => r.text(),
      json: (r) => r.json(),
    };
    return new Proxy(object as object, {
      get(target, key) {
        if (key === "body") return stream(target);
        if (typeof key === "string" && key in readers) return () => readers[key]!(new Response(stream(target)));
        if (key === "bodyUsed") return wrapped?.locked ?? false;
        const v: unknown = Reflect.get(target, key, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    }) as T;
  };
  const calls = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, key) {
        const v: unknown = Reflect.get(t, key, t);
        if (typeof v !== "function") return v;
        // The one synchronous call: a handle on an upload already begun.
        if (key === "resumeMultipartUpload") return (...args: unknown[]) => calls((v as (...a: unknown[]) => object).apply(t, args));
        return async (...args: unknown[]) => {
          await pulse();
          const out: unknown = await (v as (...a: unknown[]) => unknown).apply(t, args);
          await pulse();
          if (out !== null && typeof out === "object" && "uploadPart" in out) return calls(out);
          return withBody(out);
        };
      },
    });
  return calls(bucket);
}
