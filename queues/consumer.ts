// The task queue's consumer. Runs the messages of one batch concurrently (bounded per task
// kind), retries retryable failures with a queue delay (exponential backoff, full jitter), and
// reports every settled task to its run's coordinator in one call per run per batch.
import type { Env } from "../src/env";
import { writeTaskManifest } from "../src/manifests";
import { bounded } from "../src/concurrency";
import type { Catalog } from "../src/catalog";
import { layout } from "../src/r2/layout";
import { coordinatorStub } from "../durable-objects/rpc/coordinator";
import { meterEnv, queueUnits } from "../src/costs/meter";
import { addUsage, emptyUsage } from "../src/costs/usage";
import type { Pipeline } from "../src/pipelines/define";
import type { Json, Phase, TaskKind, TaskMessage, TaskResult, Usage } from "../src/types";
import { backoffSeconds, toTaskError } from "../src/upstream/classify";
import { Deferred, type TaskContext, type TaskOutcome } from "./handlers/context";
import { ingest } from "./handlers/ingest";
import { merge } from "./handlers/merge";
import { refine } from "./handlers/refine";
import { silver } from "./handlers/silver";
import { lanes } from "./lanes";
import { parseTaskMessage } from "./message";
import { TokenPool } from "./tokens";

const HANDLERS: Record<TaskKind, (ctx: TaskContext) => Promise<TaskOutcome>> = { ingest, refine, silver, merge };

/** A queue message's delay may not exceed 12 hours; a longer wait is several. */
const MAX_DELAY_SECONDS = 43_200;
/** Waits this long or longer are told to the coordinator, so it does not re-send the task as lost. */
const TELL_WAIT_MS = 10_000;

type Verdict = { kind: "report"; result: TaskResult } | { kind: "retry"; delaySeconds: number } | { kind: "wait"; delaySeconds: number; attempt: number };

async function runOne(env: Env, message: Message<unknown>, body: TaskMessage, pipeline: Pipeline, tokens: TokenPool): Promise<Verdict> {
  const startedAt = Date.now();
  // Deliveries that waited for rate-limit budget are not attempts: they were sent anew.
  const attempt = (body.priorAttempts ?? 0) + message.attempts;
  let outcome: TaskOutcome | undefined;
  let error: TaskResult["error"];
  try {
    outcome = await HANDLERS[body.input.kind]({ env, message: body, pipeline, tokens });
  } catch (err) {
    if (err instanceof Deferred) return { kind: "wait", delaySeconds: Math.min(MAX_DELAY_SECONDS, Math.max(1, Math.ceil(err.delayMs / 1000))), attempt };
    error = toTaskError(err);
    if (error.class === "retryable" && attempt < body.maxAttempts) {
      console.warn(`task ${body.runId}/${body.taskId} attempt ${attempt} failed, will retry: ${error.message}`);
      return { kind: "retry", delaySeconds: backoffSeconds(attempt, body.backoff?.baseSeconds, body.backoff?.maxSeconds) };
    }
  }
  const finishedAt = Date.now();
  const status: TaskResult["status"] = outcome ? "succeeded" : error?.class === "permanent" ? "dead" : "failed";
  const result: TaskResult = {
    runId: body.runId,
    taskId: body.taskId,
    status,
    attempts: attempt,
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
    attempts: attempt,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(finishedAt).toISOString(),
    durationMs: finishedAt - startedAt,
  });
  return { kind: "report", result };
}

/** What an invocation spent, per run and phase. */
export type SpentByRun = Map<string, Partial<Record<Phase, Usage>>>;

/** Send each run's results, and what was spent for it, in one call; ack on success, redeliver on failure. */
export async function reportResults(env: Env, settled: { message: Message<unknown>; result: TaskResult }[], spent: SpentByRun = new Map()): Promise<void> {
  const byRun = new Map<string, typeof settled>();
  for (const runId of spent.keys()) byRun.set(runId, []);
  for (const s of settled) byRun.set(s.result.runId, [...(byRun.get(s.result.runId) ?? []), s]);
  await Promise.all(
    [...byRun.entries()].map(async ([runId, items]) => {
      try {
        await coordinatorStub(env, runId).report(
          items.map((i) => i.result),
          spent.get(runId),
        );
        for (const i of items) i.message.ack();
      } catch (err) {
        console.error(`run ${runId}: report of ${items.length} results failed, redelivering`, err);
        for (const i of items) i.message.retry({ delaySeconds: 1 });
      }
    }),
  );
}

export async function consumeTasks(batch: MessageBatch<unknown>, env: Env, catalog: Catalog): Promise<void> {
  const invokedAt = Date.now();
  // What this invocation spends for all its messages at once (the invocation itself, the stopped
  // checks, the rate limiter's calls): shared among them when reported.
  const shared: Usage = { ...emptyUsage(), workerRequests: 1 };
  const sharedEnv = meterEnv(env, shared);
  const jobs: { message: Message<unknown>; body: TaskMessage; pipeline: Pipeline; usage: Usage; units: number }[] = [];
  for (const message of batch.messages) {
    const body = parseTaskMessage(message.body);
    const declared = body ? catalog.find(body.pipeline) : undefined;
    if (!body || !declared) {
      console.error(`dropping malformed task message ${message.id}`);
      message.ack();
      continue;
    }
    // A delivery reads the message: one queue operation per 64 KB.
    const units = queueUnits(message.body);
    jobs.push({ message, body, pipeline: catalog.deployed(env, declared), usage: { ...emptyUsage(), queueOperations: units }, units });
  }

  // Runs that were cancelled or timed out: their remaining messages are dropped unrun.
  const runIds = [...new Set(jobs.map((j) => j.body.runId))];
  const stopped = new Set(
    (await Promise.all(runIds.map(async (id) => ((await sharedEnv.BUCKET.head(layout.stopped(id))) ? id : null)))).filter((id) => id !== null),
  );
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
      pool = new TokenPool(sharedEnv, source, demand);
      pools.set(source.name, pool);
    }
    return pool;
  };

  const settled: { message: Message<unknown>; result: TaskResult }[] = [];
  const waiting: { message: Message<unknown>; body: TaskMessage; delaySeconds: number; attempt: number }[] = [];
  const run = async (j: (typeof jobs)[number]) => {
    const verdict = await runOne(meterEnv(env, j.usage), j.message, j.body, j.pipeline, tokensFor(j.pipeline));
    if (verdict.kind === "retry") j.message.retry({ delaySeconds: verdict.delaySeconds });
    else if (verdict.kind === "wait") {
      j.usage.queueOperations += 2 * j.units; // sent again as a new message, this one deleted
      waiting.push({ message: j.message, body: j.body, delaySeconds: verdict.delaySeconds, attempt: verdict.attempt });
    } else {
      j.usage.queueOperations += j.units; // acknowledged: deleted
      settled.push({ message: j.message, result: verdict.result });
    }
  };
  try {
    await Promise.all(lanes(live).map((lane) => bounded(lane.jobs, lane.concurrency, run)));
  } finally {
    await Promise.all([...pools.values()].map((p) => p.close().catch((err: unknown) => console.error("releasing rate-limit permits failed", err))));
  }
  await Promise.all([reportResults(env, settled, spentByRun(live, shared, invokedAt)), sendToWait(env, waiting)]);
}

/**
 * What the invocation spent, per run and phase: each task's own usage, and the invocation's
 * shared usage split by message. Its Worker time is the invocation's span (its tasks ran
 * concurrently), not the sum of theirs.
 */
function spentByRun(jobs: { body: TaskMessage; usage: Usage }[], shared: Usage, invokedAt: number): SpentByRun {
  const spent: SpentByRun = new Map();
  if (jobs.length === 0) return spent;
  const share = 1 / jobs.length;
  const span = Date.now() - invokedAt;
  for (const j of jobs) {
    const phases = spent.get(j.body.runId) ?? {};
    const usage = (phases[j.body.phase] ??= emptyUsage());
    addUsage(usage, j.usage);
    addUsage(usage, { ...shared, workerMs: span }, share);
    spent.set(j.body.runId, phases);
  }
  return spent;
}

/**
 * Tasks that wait for rate-limit budget go back on the queue as new messages carrying their
 * count of failed deliveries, so waiting (seconds, or hours for an hourly budget) never uses up
 * `maxAttempts` or the queue's retries. Long waits are told to the coordinator.
 */
export async function sendToWait(env: Env, waiting: { message: Message<unknown>; body: TaskMessage; delaySeconds: number; attempt: number }[]): Promise<void> {
  for (let i = 0; i < waiting.length; i += 100) {
    const chunk = waiting.slice(i, i + 100);
    try {
      await env.TASKS.sendBatch(chunk.map((w) => ({ body: { ...w.body, priorAttempts: w.attempt - 1 }, delaySeconds: w.delaySeconds })));
      for (const w of chunk) w.message.ack();
    } catch (err) {
      console.error(`re-sending ${chunk.length} waiting tasks failed; their messages are retried instead`, err);
      for (const w of chunk) w.message.retry({ delaySeconds: w.delaySeconds });
    }
  }
  const now = Date.now();
  const long = waiting.filter((w) => w.delaySeconds * 1000 >= TELL_WAIT_MS);
  const byRun = new Map<string, typeof long>();
  for (const w of long) byRun.set(w.body.runId, [...(byRun.get(w.body.runId) ?? []), w]);
  await Promise.all(
    [...byRun].map(([runId, ws]) =>
      coordinatorStub(env, runId)
        .waiting(ws.map((w) => ({ taskId: w.body.taskId, until: now + w.delaySeconds * 1000 })))
        .catch((err: unknown) => console.error(`run ${runId}: telling the coordinator of ${ws.length} waiting tasks failed`, err)),
    ),
  );
}

/** Dead-letter consumer: messages that exhausted their deliveries are recorded as failed. */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const invokedAt = Date.now();
  const settled: { message: Message<unknown>; result: TaskResult }[] = [];
  const letters: { body: TaskMessage; usage: Usage }[] = [];
  for (const message of batch.messages) {
    const body = parseTaskMessage(message.body);
    if (!body) {
      console.error(`dead letter ${message.id} is not a task message; dropping`);
      message.ack();
      continue;
    }
    // Written to the dead-letter queue, read here and deleted.
    letters.push({ body, usage: { ...emptyUsage(), queueOperations: 3 * queueUnits(message.body) } });
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
  await reportResults(env, settled, spentByRun(letters, { ...emptyUsage(), workerRequests: 1 }, invokedAt));
}
