// What a run costs, against a hand count: what a person counts for a small run from its tasks
// and from what it left in R2, priced with the figures published on Cloudflare's pricing pages
// (typed here again, not imported: the test checks src/costs/prices.ts too).
import { describe, expect, it } from "vitest";
import type { Phase } from "../../src/types";
import { api, configureSample, env, submit, waitForRun } from "../helpers";

const PUBLISHED = { queueOperation: 0.4e-6, r2ClassA: 4.5e-6, r2ClassB: 0.36e-6, doRequest: 0.15e-6, workerRequest: 0.3e-6, sqliteRowWritten: 1e-6 };

async function objects(): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.BUCKET.list({ cursor, limit: 1000 });
    out.push(...page.objects.map((o) => ({ key: o.key, size: o.size })));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return out;
}

describe("what a run costs", () => {
  it("counts a small run within 10% of a hand count, per phase, in the view and the manifest", async () => {
    await configureSample({});
    const before = new Set((await objects()).map((o) => o.key));
    const id = await submit("sample-weather", {
      stations: ["10000", "10037", "10074"],
      from: "2024-01-01",
      to: "2024-03-01",
      chunk: "month",
      stationsPerBatch: 1,
    });
    const run = await waitForRun(id);
    expect(run.status).toBe("succeeded");
    const written = (await objects()).filter((o) => !before.has(o.key));
    const { total, phases, cost } = run.usage;

    // The hand count. Every task is one queue message, written, read once (no faults) and deleted.
    const tasks = Object.values(run.phases).reduce((n, p) => n + p.total, 0);
    expect(tasks).toBe(6 * 3 + 1); // 6 batches × ingest, refine, silver; one merge
    expect(total.queueOperations).toBe(3 * tasks);
    for (const p of ["ingest", "refine", "silver"] as Phase[]) expect(phases[p]?.queueOperations).toBe(3 * 6);
    // Every object the run left in R2 was put once at least; a few (the run manifest) were put again.
    expect(written.length).toBeGreaterThan(60);
    expect(total.r2ClassA).toBeGreaterThanOrEqual(written.length);
    expect(total.r2ClassA).toBeLessThanOrEqual(written.length * 1.1);
    const bytes = written.reduce((n, o) => n + o.size, 0);
    expect(total.r2BytesWritten).toBeGreaterThanOrEqual(bytes);
    expect(total.r2BytesWritten).toBeLessThanOrEqual(bytes * 1.1);
    // Reads: each refine reads its raw page, each silver its refined file, the merge each silver file.
    expect(total.r2ClassB).toBeGreaterThanOrEqual(6 + 6 + 6);
    // The coordinator took every consumer report as a request; it wrote each task's row at least
    // three times (planned, sent, settled).
    expect(total.doRequests).toBeGreaterThan(run.coordinator.reportCalls);
    expect(total.sqliteRowsWritten).toBeGreaterThanOrEqual(3 * tasks);
    // Consumer invocations: at least one, at most one per message.
    expect(total.workerRequests).toBeGreaterThanOrEqual(1);
    expect(total.workerRequests).toBeLessThanOrEqual(tasks);

    // Priced at the published figures; the hand count's lines come within 10%.
    const line = (item: string) => cost.lines.find((l) => l.item === item)!.dollars;
    expect(line("Queue operations")).toBeCloseTo(total.queueOperations * PUBLISHED.queueOperation, 12);
    expect(line("R2 class A")).toBeCloseTo(total.r2ClassA * PUBLISHED.r2ClassA, 12);
    expect(line("R2 class B")).toBeCloseTo(total.r2ClassB * PUBLISHED.r2ClassB, 12);
    expect(line("Durable Object requests")).toBeCloseTo(total.doRequests * PUBLISHED.doRequest, 12);
    expect(line("Worker requests")).toBeCloseTo(total.workerRequests * PUBLISHED.workerRequest, 12);
    expect(line("SQLite rows written")).toBeCloseTo(total.sqliteRowsWritten * PUBLISHED.sqliteRowWritten, 12);
    const hand = 3 * tasks * PUBLISHED.queueOperation + written.length * PUBLISHED.r2ClassA;
    const counted = line("Queue operations") + line("R2 class A");
    expect(Math.abs(counted - hand) / hand).toBeLessThanOrEqual(0.1);
    expect(cost.dollars).toBeCloseTo(
      cost.lines.reduce((s, l) => s + l.dollars, 0),
      12,
    );
    expect(cost.dollars).toBeGreaterThan(counted);

    // The manifest carries it; the run page shows it.
    const manifest = await (await api(`/v1/jobs/${id}/manifest`)).json<{ usage: typeof run.usage }>();
    expect(manifest.usage.total.queueOperations).toBe(3 * tasks);
    const page = await (await api(`/runs/${id}`)).text();
    expect(page).toContain("<h2>Cost</h2>");
    expect(page).toContain("R2 class A");
  });
});
