// The README's pipeline is the starter's (starter/src/pipelines/orders.ts, compiled with the
// tests through the "sluice" path that tsconfig and vitest map to src/public): shown whole, and
// it plans and types what the README says.
import { describe, expect, it } from "vitest";
import readme from "../../README.md?raw";
import example from "../../starter/src/pipelines/orders.ts?raw";
import { orders } from "../../starter/src/pipelines/orders";

describe("README", () => {
  it("shows the starter's pipeline as the starter has it", () => {
    expect(readme).toContain("```ts\n" + example + "```");
  });

  it("plans one batch a day, and types the silver columns from the row schema", () => {
    const batches = [...orders.plan({ from: "2026-11-01", to: "2026-11-04" })];
    expect(batches.map((b) => b.partition)).toEqual(["orders/day=2026-11-01", "orders/day=2026-11-02", "orders/day=2026-11-03"]);
    expect(orders.columns.map((c) => `${c.name}:${c.type}`)).toEqual([
      "order_id:string",
      "customer_id:string",
      "status:string",
      "total_cents:int64",
      "created_at:timestamp",
    ]);
    expect(orders.schedules.map((s) => s.cron)).toEqual(["0 6 * * *"]);
  });
});
