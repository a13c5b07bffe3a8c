// The consumer's lanes: large refine and silver tasks (by their input's rows) one at a time in a
// lane of their own, small ones four at a time per phase, ingest at its source's concurrency.
import { describe, expect, it, vi } from "vitest";
import { HEAVY_ROWS, lanes } from "../../queues/lanes";
import { Gate } from "../../src/concurrency";
import type { TaskMessage } from "../../src/types";

const base = { v: 1, runId: "r", pipeline: "p", group: "initial", maxAttempts: 3, version: { window: "w", hive: "w=1", n: 1 } } as const;
const source = { source: { concurrency: 16 } };
const job = (taskId: string, input: TaskMessage["input"]) => ({ body: { ...base, taskId, phase: input.kind === "merge" ? "aggregate" : input.kind, input } as TaskMessage, pipeline: source });
const refine = (id: string, inputRows?: number) => job(id, { kind: "refine", batchId: id, rawKey: "k", partition: "p", data: {}, inputRows });
const silver = (id: string, inputRows?: number) => job(id, { kind: "silver", batchId: id, refinedKey: "k", inputRows });

describe("lanes", () => {
  it("runs refine and silver tasks of a row group's quarter or more one at a time, together", () => {
    const jobs = [
      job("i1", { kind: "ingest", batch: { id: "b1", partition: "p", data: {} } }),
      refine("r-small", 100),
      refine("r-unknown"),
      refine("r-large", HEAVY_ROWS),
      silver("s-small", HEAVY_ROWS - 1),
      silver("s-large", 1_000_000),
    ];
    const got = lanes(jobs).map((l) => ({ name: l.name, ids: l.jobs.map((j) => j.body.taskId), concurrency: l.concurrency }));
    expect(got).toEqual([
      { name: "ingest", ids: ["i1"], concurrency: 16 },
      { name: "refine", ids: ["r-small", "r-unknown"], concurrency: 4 },
      { name: "silver", ids: ["s-small"], concurrency: 4 },
      { name: "large", ids: ["r-large", "s-large"], concurrency: 1 },
    ]);
    // Every job in exactly one lane.
    expect(lanes(jobs).flatMap((l) => l.jobs).length).toBe(jobs.length);
  });
});

describe("Gate", () => {
  it("lets `limit` holders in at once, the rest in arrival order as places free, and frees a place when work throws", async () => {
    const gate = new Gate(2);
    const order: string[] = [];
    let inside = 0;
    let most = 0;
    const opened: (() => void)[] = [];
    const work = (name: string, fail = false) =>
      gate.run(async () => {
        order.push(name);
        most = Math.max(most, ++inside);
        await new Promise<void>((resolve) => opened.push(resolve));
        inside--;
        if (fail) throw new Error(name);
      });
    const runs = [work("a", true), work("b"), work("c"), work("d")];
    await vi.waitUntil(() => opened.length === 2);
    expect(order).toEqual(["a", "b"]);
    opened.shift()!(); // a ends by throwing: c takes its place
    await expect(runs[0]).rejects.toThrow("a");
    await vi.waitUntil(() => opened.length === 2);
    expect(order).toEqual(["a", "b", "c"]);
    while (opened.length > 0 || order.length < 4) {
      await vi.waitUntil(() => opened.length > 0);
      opened.shift()!();
    }
    await Promise.all(runs.slice(1));
    expect([order, most]).toEqual([["a", "b", "c", "d"], 2]);
  });
});
