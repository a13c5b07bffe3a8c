// Counting what code spends on the platform as it spends it: an Env whose bucket, queue and
// Durable Object stubs add to a Usage on every billed call (src/costs/usage.ts). The handlers
// and the coordinator use the metered Env like the real one.
import type { Env } from "../env";
import type { Usage } from "../types";
import { addUsage, usageFrom } from "./usage";

/** A queue operation covers 64 KB of a message. */
const QUEUE_OP_BYTES = 64 * 1024;
const encoder = new TextEncoder();

/** Operations one write, read or delete of this message body takes. */
export const queueUnits = (body: unknown): number => Math.max(1, Math.ceil(encoder.encode(JSON.stringify(body) ?? "").length / QUEUE_OP_BYTES));

type AnyFn = (...args: unknown[]) => unknown;

/** The target's own member, bound to it (a binding's methods need their own `this`). */
function passThrough(target: object, prop: string | symbol): unknown {
  const value: unknown = Reflect.get(target, prop);
  return typeof value === "function" ? (value as AnyFn).bind(target) : value;
}

function meterUpload(upload: R2MultipartUpload, u: Usage): R2MultipartUpload {
  return new Proxy(upload, {
    get(target, prop) {
      if (prop === "uploadPart")
        return (...args: unknown[]) => {
          u.r2ClassA++;
          return (target.uploadPart as AnyFn)(...args);
        };
      if (prop === "complete")
        return async (...args: unknown[]) => {
          u.r2ClassA++;
          const object = (await (target.complete as AnyFn)(...args)) as R2Object;
          u.r2BytesWritten += object.size;
          return object;
        };
      return passThrough(target, prop);
    },
  });
}

/** An R2 bucket that counts class A operations (put, list, multipart), class B (get, head) and bytes written. */
export function meterBucket(bucket: R2Bucket, u: Usage): R2Bucket {
  return new Proxy(bucket, {
    get(target, prop) {
      switch (prop) {
        case "put":
          return async (...args: unknown[]) => {
            u.r2ClassA++;
            const object = (await (target.put as AnyFn)(...args)) as R2Object | null;
            if (object) u.r2BytesWritten += object.size;
            return object;
          };
        case "list":
          return (...args: unknown[]) => {
            u.r2ClassA++;
            return (target.list as AnyFn)(...args);
          };
        case "get":
        case "head":
          return (...args: unknown[]) => {
            u.r2ClassB++;
            return (target[prop] as AnyFn)(...args);
          };
        case "createMultipartUpload":
          return async (...args: unknown[]) => {
            u.r2ClassA++;
            return meterUpload((await (target.createMultipartUpload as AnyFn)(...args)) as R2MultipartUpload, u);
          };
        case "resumeMultipartUpload":
          return (...args: unknown[]) => meterUpload((target.resumeMultipartUpload as AnyFn)(...args) as R2MultipartUpload, u);
        default:
          return passThrough(target, prop);
      }
    },
  });
}

/** A queue producer that counts the operations of every message it writes. */
export function meterQueue<T>(queue: Queue<T>, u: Usage): Queue<T> {
  return new Proxy(queue, {
    get(target, prop) {
      if (prop === "send")
        return (body: T, options?: QueueSendOptions) => {
          u.queueOperations += queueUnits(body);
          return target.send(body, options);
        };
      if (prop === "sendBatch")
        return (messages: Iterable<MessageSendRequest<T>>, options?: QueueSendBatchOptions) => {
          const list = [...messages];
          for (const m of list) u.queueOperations += queueUnits(m.body);
          return target.sendBatch(list, options);
        };
      return passThrough(target, prop);
    },
  });
}

/**
 * A Durable Object namespace whose stubs count each method call (each is a billed request), and
 * add what an answer says the call cost the object (`spent`: the rate limiter's SQLite rows).
 */
export function meterNamespace<N extends DurableObjectNamespace<Rpc.DurableObjectBranded | undefined>>(namespace: N, u: Usage): N {
  return new Proxy(namespace, {
    get(target, prop) {
      if (prop !== "get") return passThrough(target, prop);
      return (...args: unknown[]) => {
        const stub = (target.get as AnyFn)(...args) as object;
        return new Proxy(stub, {
          get(s, name) {
            const member: unknown = Reflect.get(s, name);
            if (typeof member !== "function" || typeof name === "symbol") return member;
            // Reflect.apply: on an RPC stub, `member.apply` would be a remote method of that name.
            return async (...callArgs: unknown[]) => {
              u.doRequests++;
              const result: unknown = await Reflect.apply(member as AnyFn, s, callArgs);
              // An object that can say what a call cost it (the rate limiter's SQLite rows) does so in `spent`.
              if (typeof result === "object" && result !== null && "spent" in result) addUsage(u, usageFrom(result.spent));
              return result;
            };
          },
        });
      };
    },
  });
}

/**
 * The Env as code spending for a run should see it: the bucket, the task queue and the rate limiter,
 * registry and flow stubs counted into `u`. Calls into a run's coordinator are counted by the
 * coordinator itself (it counts every request it handles), so its namespace is left as it is.
 */
export function meterEnv(env: Env, u: Usage): Env {
  return {
    ...env,
    BUCKET: meterBucket(env.BUCKET, u),
    TASKS: meterQueue(env.TASKS, u),
    RATE_LIMITER: meterNamespace(env.RATE_LIMITER, u),
    PIPELINE_REGISTRY: meterNamespace(env.PIPELINE_REGISTRY, u),
    ...(env.FLOW_COORDINATOR ? { FLOW_COORDINATOR: meterNamespace(env.FLOW_COORDINATOR, u) } : {}),
  };
}

/** A SQLite handle that keeps every cursor it opens, so the rows they read and wrote can be counted. */
export class SqlMeter {
  private cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
  readonly sql: SqlStorage;
  constructor(sql: SqlStorage) {
    this.sql = new Proxy(sql, {
      get: (target, prop) => {
        if (prop !== "exec") return passThrough(target, prop);
        return (query: string, ...bindings: unknown[]) => {
          const cursor = target.exec(query, ...bindings);
          this.cursors.push(cursor);
          return cursor;
        };
      },
    });
  }
  /** Add the rows the cursors opened since the last call read and wrote. */
  drain(u: Usage): void {
    for (const c of this.cursors) {
      u.sqliteRowsRead += c.rowsRead;
      u.sqliteRowsWritten += c.rowsWritten;
    }
    this.cursors = [];
  }
}
