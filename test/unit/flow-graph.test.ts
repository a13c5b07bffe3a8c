// A flow's graph and definition, without running anything: the order steps run in, what starts
// and what is blocked as steps end, the definitions refused, and the settings an environment
// applies. The runs themselves are test/integration/flows.test.ts.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Catalog } from "../../src/catalog";
import { defineFlow, type FlowDefinition } from "../../src/flows/define";
import { progress, stepOrder } from "../../src/flows/graph";
import { definePipeline } from "../../src/pipelines/define";
import { configProblems } from "../../src/wrangler-config";

const generate = definePipeline({
  name: "fl-generate",
  description: "one request a window",
  params: z.object({ from: z.string(), to: z.string(), accounts: z.array(z.string()) }).strict(),
  source: { name: "graph-api", baseUrl: "https://api.example.com", rateLimit: [{ requests: 10, per: "1s" }], concurrency: 1, timeoutMs: 1000 },
  *plan(params) {
    yield { partition: `day=${params.from}`, data: {} };
  },
  request: (_batch, source) => ({ url: `${source.baseUrl}/rows` }),
  parse: () => [],
  rowSchema: z.object({ id: z.string() }),
  key: ["id"],
});

const step = (pipeline: string, accounts: string[], extra: Partial<FlowDefinition["steps"][string]> = {}) => ({
  pipeline,
  params: (w: { from: string; to: string }) => ({ ...w, accounts }),
  ...extra,
});

const daily = defineFlow({
  name: "fl-daily",
  steps: { generate: step("fl-generate", ["1"]), main: step("fl-generate", ["2"], { after: ["generate"] }) },
  schedules: [
    { name: "daily", cron: "0 6 * * *", window: "previous-day" },
    { name: "weekly-refresh", cron: "0 2 * * 0", window: "previous-day", paused: true, fullRefresh: true },
  ],
});

describe("a flow's graph", () => {
  it("orders steps after those they need, and refuses a cycle, naming it", () => {
    const order = stepOrder("f", [
      { name: "c", after: ["b"] },
      { name: "b", after: ["a"] },
      { name: "a", after: [] },
    ]);
    expect(order.map((s) => s.name)).toEqual(["a", "b", "c"]);
    expect(() =>
      defineFlow({
        name: "loop",
        steps: { a: step("x", ["1"], { after: ["c"] }), b: step("x", ["1"], { after: ["a"] }), c: step("x", ["1"], { after: ["b"] }) },
      }),
    ).toThrow(/wait on each other \(a → c → b → a\)/);
  });

  it("starts what is ready, blocks what needs a failed step (and what needs that), and ends when nothing is open", () => {
    const steps = [
      { name: "a", after: [] },
      { name: "b", after: ["a"] },
      { name: "c", after: ["b"] },
      { name: "d", after: ["a"] },
    ];
    expect(
      progress(
        steps,
        new Map([
          ["a", "succeeded"],
          ["b", "waiting"],
          ["c", "waiting"],
          ["d", "waiting"],
        ]),
      ),
    ).toEqual({ start: ["b", "d"], blocked: [], outcome: null });
    expect(
      progress(
        steps,
        new Map([
          ["a", "succeeded"],
          ["b", "failed"],
          ["c", "waiting"],
          ["d", "running"],
        ]),
      ),
    ).toEqual({ start: [], blocked: ["c"], outcome: null });
    expect(
      progress(
        steps,
        new Map([
          ["a", "succeeded"],
          ["b", "failed"],
          ["c", "waiting"],
          ["d", "succeeded"],
        ]),
      ),
    ).toEqual({ start: [], blocked: ["c"], outcome: "failed" });
    expect(
      progress(
        steps,
        new Map([
          ["a", "succeeded"],
          ["b", "succeeded"],
          ["c", "succeeded"],
          ["d", "succeeded"],
        ]),
      ).outcome,
    ).toBe("succeeded");
  });

  it("refuses steps after unknown steps, unknown pipelines, and a flow named like a pipeline", () => {
    expect(() => defineFlow({ name: "f", steps: { a: step("x", ["1"], { after: ["nope"] }) } })).toThrow(/comes after "nope", which is not a step/);
    expect(() => defineFlow({ name: "f", steps: {} })).toThrow(/at least one step/);
    expect(() => new Catalog([generate], [defineFlow({ name: "f", steps: { a: step("fl-missing", ["1"]) } })])).toThrow(/no pipeline named fl-missing/);
    expect(() => new Catalog([generate], [defineFlow({ name: "fl-generate", steps: { a: step("fl-generate", ["1"]) } })])).toThrow(/a pipeline has that name/);
  });

  it("takes each environment's schedule settings, and needs its Durable Object binding in wrangler config", () => {
    const staging = new Catalog([generate], [daily]).deployedFlow(
      { SLUICE_SCHEDULES: JSON.stringify({ "fl-daily/daily": { cron: "0 7 * * *" }, "fl-daily/weekly-refresh": "on" }) },
      daily,
    );
    expect(staging.schedules.map((s) => [s.cron, s.paused ?? false])).toEqual([
      ["0 7 * * *", false],
      ["0 2 * * 0", false],
    ]);
    const problems = configProblems(new Catalog([generate], [defineFlow({ name: "f", steps: { a: step("fl-generate", ["1"]) } })]), {
      durable_objects: { bindings: [] },
      migrations: [],
    });
    expect(problems).toContain("migrations: no migration creates FlowCoordinator (add it to new_sqlite_classes)");
    expect(problems).toContain('top level: no Durable Object binding FLOW_COORDINATOR (class_name = "FlowCoordinator")');
  });
});
