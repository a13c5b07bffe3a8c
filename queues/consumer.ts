// The task queue's consumer. Runs the messages of one batch concurrently (bounded per task
// kind), retries retryable failures with a queue delay (exponential backoff, full jitter), and
// reports every settled task to its run's coordinator in one call per run per batch.
import type { Env } from "../src/env";
import { writeTaskManifest } from "../src/manifests";
import { bounded } from "../src/concurrency";
import { findPipeline } from "../src/pipelines";
import { layout } from "../src/r2/layout";
import { coordinatorStub } from "../src/stubs";
import type { Pipeline } from "../src/pipelines/define";
import type { Json, TaskKind, TaskMessage, TaskResult } from "../src/types";
import { backoffSeconds, toTaskError } from "../src/upstream/classify";
import { Deferred, type TaskContext, type TaskOutcome } from "./handlers/context";
import { ingest } from "./handlers/ingest";
import { merge } from "./handlers/merge";
import { refine } from "./handlers/refine";
import { silver } from "./handlers/silver";
import { parseTaskMessage } from "./message";
import { TokenPool } from "./tokens";
import { sourceFor } from "../src/pipelines/source-limits";

const HANDLERS: Record<TaskKind, (ctx: TaskContext) => Promise<TaskOutcome>> = { ingest, refine, silver, merge };

/** CPU- and memory-bound work per invocation; ingest is bounded by the source's concurrency. */
const CONCURRENCY: Record<Exclude<TaskKind, "ingest">, number> = { refine: 4, silver: 4, merge: 1 };

type Verdict = { kind: "report"; result: TaskResult } | { kind: "retry"; delaySeconds: number };

async function runOne(env: Env, message: Message<unknown>, body: TaskMessage, pipeline: Pipeline, tokens: TokenPool): Promise<Verdict> {
  const startedAt = Date.now();
  let outcome: TaskOutcome | undefined;
  let error: TaskResult["error"];
  try {
    outcome = await HANDLERS[body.input.kind]({ env, message: body, pipeline, tokens });
  } catch (err) {
    if (err instanceof Deferred) return { kind: "retry", delaySeconds: Math.max(1, Math.ceil(err.delayMs / 1000)) };
    error = toTaskError(err);
    if (error.class === "retryable" && message.attempts < body.maxAttempts) {
      console.warn(`task ${body.runId}/${body.taskId} attempt ${message.attempts} failed, will retry: ${error.message}`);
      return { kind: "retry", delaySeconds: backoffSeconds(message.attempts) };
    }
  }
  const finishedAt = Date.now();
  const status: TaskResult["status"] = outcome ? "succeeded" : error?.class === "permanent" ? "dead" : "failed";
  const result: TaskResult = {
    runId: body.runId,
    taskId: body.taskId,
    status,
    attempts: message.attempts,
    startedAt,
    finishedAt,
    ...(outcome
      ? {
          output: outcome.output,
          reused: outcome.reused,
          badRows: outcome.badRows,
          badRowSamples: outcome.badRowSamples,
          profile: outcome.profile as Json | undefined,
          deadItems: outcome.deadItems?.length ? outcome.deadItems : undefined,
        }
      : { error }),
  };
  await writeTaskManifest(env.BUCKET, {
    kind: "task",
    runId: body.runId,
    taskId: body.taskId,
    phase: body.phase,
    group: body.group,
    input: body.input,
    status,
    output: outcome?.output ?? null,
    rows: outcome?.output.rows ?? null,
    badRows: outcome?.badRows ?? 0,
    badRowSamples: outcome?.badRowSamples ?? [],
    deadItems: outcome?.deadItems ?? [],
    reused: outcome?.reused ?? false,
    error: error ?? null,
    attempts: message.attempts,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(finishedAt).toISOString(),
    durationMs: finishedAt - startedAt,
  });
  return { kind: "report", result };
}

/** Send each run's results in one call; ack on success, redeliver on failure. */
export async function reportResults(env: Env, settled: { message: Message<unknown>; result: TaskResult }[]): Promise<void> {
  const byRun = new Map<string, typeof settled>();
  for (const s of settled) byRun.set(s.result.runId, [...(byRun.get(s.result.runId) ?? []), s]);
  await Promise.all(
    [...byRun.entries()].map(async ([runId, items]) => {
      try {
        await coordinatorStub(env, runId).report(items.map((i) => i.result));
        for (const i of items) i.message.ack();
      } catch (err) {
        console.error(`run ${runId}: report of ${items.length} results failed, redelivering`, err);
        for (const i of items) i.message.retry({ delaySeconds: 1 });
      }
    }),
  );
}

export async function consumeTasks(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const jobs: { message: Message<unknown>; body: TaskMessage; pipeline: Pipeline }[] = [];
  for (const message of batch.messages) {
    const body = parseTaskMessage(message.body);
    const declared = body ? findPipeline(body.pipeline) : undefined;
    if (!body || !declared) {
      console.error(`dropping malformed task message ${message.id}`);
      message.ack();
      continue;
    }
    jobs.push({ message, body, pipeline: { ...declared, source: sourceFor(env, declared.source) } });
  }

  // Runs that were cancelled or timed out: their remaining messages are dropped unrun.
  const runIds = [...new Set(jobs.map((j) => j.body.runId))];
  const stopped = new Set((await Promise.all(runIds.map(async (id) => ((await env.BUCKET.head(layout.stopped(id))) ? id : null)))).filter((id) => id !== null));
  for (const j of jobs.filter((j) => stopped.has(j.body.runId))) j.message.ack();
  const live = jobs.filter((j) => !stopped.has(j.body.runId));
  const ofKind = (kind: TaskKind) => live.filter((j) => j.body.input.kind === kind);
  const ingestJobs = ofKind("ingest");
  const pools = new Map<string, TokenPool>();
  const tokensFor = ({ source }: Pipeline): TokenPool => {
    let pool = pools.get(source.name);
    if (!pool) {
      // Requests this invocation expects to make: one per item of an items batch, else one per batch (pages are not known ahead).
      const demand = ingestJobs
        .filter((j) => j.pipeline.source.name === source.name)
        .reduce((n, j) => n + (j.pipeline.items && j.body.input.kind === "ingest" ? j.pipeline.items(j.body.input.batch).length : 1), 0);
      pool = new TokenPool(env, source, demand);
      pools.set(source.name, pool);
    }
    return pool;
  };

  const settled: { message: Message<unknown>; result: TaskResult }[] = [];
  const run = async (j: (typeof jobs)[number]) => {
    const verdict = await runOne(env, j.message, j.body, j.pipeline, tokensFor(j.pipeline));
    if (verdict.kind === "retry") j.message.retry({ delaySeconds: verdict.delaySeconds });
    else settled.push({ message: j.message, result: verdict.result });
  };
  const concurrency = Math.max(1, ...ingestJobs.map((j) => j.pipeline.source.concurrency));
  await Promise.all([
    bounded(ingestJobs, concurrency, run),
    bounded(ofKind("refine"), CONCURRENCY.refine, run),
    bounded(ofKind("silver"), CONCURRENCY.silver, run),
    bounded(ofKind("merge"), CONCURRENCY.merge, run),
  ]);
  await Promise.all([...pools.values()].map((p) => p.close().catch((err: unknown) => console.error("releasing rate-limit permits failed", err))));
  await reportResults(env, settled);
}

/** Dead-letter consumer: messages that exhausted their deliveries are recorded as failed. */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const settled: { message: Message<unknown>; result: TaskResult }[] = [];
  for (const message of batch.messages) {
    const body = parseTaskMessage(message.body);
    if (!body) {
      console.error(`dead letter ${message.id} is not a task message; dropping`);
      message.ack();
      continue;
    }
    const now = Date.now();
    settled.push({
      message,
      result: {
        runId: body.runId,
        taskId: body.taskId,
        status: "failed",
        attempts: message.attempts,
        startedAt: now,
        finishedAt: now,
        error: { type: "delivery_exhausted", message: `task message exhausted its queue deliveries`, class: "retryable" },
      },
    });
  }
  await reportResults(env, settled);
}
