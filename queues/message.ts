// Queue message bodies are checked before use: a malformed one is logged and dropped, never run.
// The schema is checked against the TaskMessage type (src/types.ts) by the compiler: a field
// added to one and not the other does not compile, and a parsed message needs no cast.
import { z } from "zod";
import { runIdSchema, pipelineNameSchema } from "../src/ids";
import { PHASES, type Json, type TaskMessage } from "../src/types";

const outputFile = z.object({ key: z.string(), rows: z.number(), bytes: z.number(), sha256: z.string() });
const json: z.ZodType<Json> = z.lazy(() => z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(json), z.record(z.string(), json)]));

const taskInput = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("ingest"), batch: z.object({ id: z.string(), partition: z.string(), data: z.record(z.string(), json) }) }),
  z.object({
    kind: z.literal("refine"),
    batchId: z.string(),
    rawKey: z.string(),
    partition: z.string(),
    data: z.record(z.string(), json),
    inputRows: z.number().int().min(0).optional(),
  }),
  z.object({
    kind: z.literal("silver"),
    batchId: z.string(),
    refinedKey: z.string(),
    paramsKey: z.string().optional(),
    params: json.optional(),
    inputRows: z.number().int().min(0).optional(),
  }),
  z.object({
    kind: z.literal("merge"),
    generation: z.number().int(),
    level: z.number().int(),
    index: z.number().int(),
    inputs: z.array(outputFile),
    outputKey: z.string(),
    final: z.boolean(),
    gold: z.boolean().optional(),
    changes: z.boolean().optional(),
  }),
]);

const taskMessage: z.ZodType<TaskMessage> = z.object({
  v: z.literal(1),
  runId: runIdSchema,
  pipeline: pipelineNameSchema,
  taskId: z.string().regex(/^[a-zA-Z0-9-]+$/),
  phase: z.enum(PHASES),
  group: z.string(),
  maxAttempts: z.number().int().min(1).max(100),
  backoff: z.object({ baseSeconds: z.number().min(0).max(3600), maxSeconds: z.number().min(1).max(43_200) }).optional(),
  priorAttempts: z.number().int().min(0).max(100).optional(),
  version: z.object({ window: z.string(), hive: z.string(), n: z.number().int().min(1) }),
  force: z.boolean().optional(),
  input: taskInput,
});

export function parseTaskMessage(body: unknown): TaskMessage | null {
  const parsed = taskMessage.safeParse(body);
  return parsed.success ? parsed.data : null;
}
