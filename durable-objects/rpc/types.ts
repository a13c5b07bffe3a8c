// Typing a Durable Object stub by what it can be asked. workerd's generated RPC stub types recurse
// through JSON-shaped results until TypeScript gives up, so each stub is typed from a class's (or
// an interface's) own public methods instead: derived, not listed.
import type { DurableObject } from "cloudflare:workers";

/** A type's public methods (its RPC surface): what it declares beyond DurableObject's own handlers. */
type Methods<T> = Exclude<{ [K in keyof T]: T[K] extends (...args: never[]) => unknown ? K : never }[keyof T], keyof DurableObject>;

/** Each public method of T as its stub has it: the same arguments, the result as a promise. */
export type Remote<T> = {
  [M in Methods<T>]: T[M] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/** The stub of the object named `name` in a namespace, typed as T's RPC surface. */
export const stubOf = <T>(namespace: DurableObjectNamespace<Rpc.DurableObjectBranded | undefined>, name: string) =>
  namespace.get(namespace.idFromName(name)) as unknown as Remote<T>;
