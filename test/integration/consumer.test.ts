// The queue consumer, driven with hand-made message batches.
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import type { TaskMessage } from "../../src/types";
import { configureSample, env, sampleStats, submit, waitForRun } from "../helpers";

function ingestMessage(runId: string, station: string, id = "b000000"): TaskMessage {
  return {
    v: 1,
    runId,
    pipeline: "sample-weather",
    taskId: `ingest-${id}`,
    phase: "ingest",
    group: "initial",
    maxAttempts: 5,
    version: { window: "2020-01-01", hive: "year=2020/month=01/day=01", n: 1 },
    input: {
      kind: "ingest",
      batch: {
        id,
        partition: `hourly/stations=${station}/start=2020-01-01/end=2020-01-02`,
        data: { stations: [station], start: "2020-01-01", end: "2020-01-02" },
      },
    },
  };
}

async function deliver(bodies: unknown[], attempts = 1) {
  const batch = createMessageBatch(
    "sluice-tasks",
    bodies.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  return getQueueResult(batch, ctx);
}

describe("queue consumer", () => {
  it("acknowledges and skips a redelivered message for a finished task", async () => {
    await configureSample({});
    const id = await submit("sample-weather", { stations: ["10000"], from: "2024-05-01", to: "2024-05-03", chunk: "day" });
    expect((await waitForRun(id)).status).toBe("succeeded");
    const requests = (await sampleStats()).requests;

    const result = await deliver([
      {
        ...ingestMessage(id, "10000"),
        input: {
          kind: "ingest",
          batch: {
            id: "b000000",
            partition: "hourly/stations=10000/start=2024-05-01/end=2024-05-02",
            data: { stations: ["10000"], start: "2024-05-01", end: "2024-05-02" },
          },
        },
      },
    ]);
    expect(result.explicitAcks).toEqual(["m0"]);
    expect(result.retryMessages).toEqual([]);
    expect((await sampleStats()).requests).toBe(requests);
    const manifest = await (await env.BUCKET.get(`runs/${id}/tasks/ingest-b000000.json`))!.json<{ reused: boolean; status: string }>();
    expect(manifest).toMatchObject({ reused: true, status: "succeeded" });
  });

  it("drops malformed messages without running them", async () => {
    const result = await deliver([{ hello: "world" }, { ...ingestMessage("../evil", "10000") }]);
    expect(result.explicitAcks.sort()).toEqual(["m0", "m1"]);
  });

  it("retries a transient failure with a queue delay, and reports it failed on the last attempt", async () => {
    await configureSample({ faultRate: 1, faultKinds: ["5xx"] });
    const first = await deliver([ingestMessage("consumer-retry-run", "10037")], 1);
    expect(first.retryMessages.map((m) => m.msgId)).toEqual(["m0"]);
    expect(first.explicitAcks).toEqual([]);

    // getQueueResult does not show the delay: watch retry() on a hand-made message instead.
    const retries: (QueueRetryOptions | undefined)[] = [];
    const message = {
      id: "h0",
      timestamp: new Date(),
      attempts: 3,
      body: ingestMessage("consumer-retry-run", "10037"),
      ack: () => undefined,
      retry: (o?: QueueRetryOptions) => void retries.push(o),
    };
    await worker.queue(
      { queue: "sluice-tasks", messages: [message], ackAll: () => undefined, retryAll: () => undefined } as unknown as MessageBatch<unknown>,
      env,
    );
    expect(retries).toHaveLength(1);
    expect(retries[0]!.delaySeconds).toBeGreaterThanOrEqual(1);
    expect(retries[0]!.delaySeconds).toBeLessThanOrEqual(4); // full jitter under 2^(3-1) s

    const last = await deliver([ingestMessage("consumer-retry-run", "10037")], 5);
    expect(last.retryMessages).toEqual([]);
    expect(last.explicitAcks).toEqual(["m0"]);
    const manifest = await (await env.BUCKET.get("runs/consumer-retry-run/tasks/ingest-b000000.json"))!.json<{ status: string; error: { class: string } }>();
    expect(manifest).toMatchObject({ status: "failed", error: { class: "retryable", type: "upstream_5xx" } });
  });

  it("sends a deleted station to the dead list at once, without retrying", async () => {
    await configureSample({ deletedStations: ["10074"] });
    const result = await deliver([ingestMessage("consumer-dead-run", "10074")], 1);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toEqual(["m0"]);
    const manifest = await (await env.BUCKET.get("runs/consumer-dead-run/tasks/ingest-b000000.json"))!.json<{
      status: string;
      error: { class: string; status: number };
    }>();
    expect(manifest).toMatchObject({ status: "dead", error: { class: "permanent", status: 404 } });
  });

  it("retries a truncated body as unparsable", async () => {
    await configureSample({ faultRate: 1, faultKinds: ["truncate"] });
    const result = await deliver([ingestMessage("consumer-trunc-run", "10111")], 5);
    const manifest = await (await env.BUCKET.get("runs/consumer-trunc-run/tasks/ingest-b000000.json"))!.json<{ error: { type: string } }>();
    expect(result.explicitAcks).toEqual(["m0"]);
    expect(manifest.error.type).toBe("unparsable_body");
    expect(await env.BUCKET.head("bronze/raw/sample-edr/hourly/stations=10111/start=2020-01-01/end=2020-01-02.json")).toBeNull();
  });
});
