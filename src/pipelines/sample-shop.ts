// Seed 004's shop on the sample upstream's change feeds (src/sample/shop.ts), one batch a day:
//   sample-customers  customer changes → the `current` table (SCD type 1: each customer's latest
//                     row, closed accounts left out) and the `history` table (SCD type 2)
//   sample-orders     order changes → `current` (each order's latest status) and `history`, and
//                     gold over the current table: orders and revenue a day (by status) and a month,
//                     a day per seller, and revenue per customer with the customer's city looked up
//                     in sample-customers' current table
// Feeds carry late changes and repeats; the tables put each change in its place by `seq` and
// ignore repeats. Run `sample-shop` (src/flows/sample-shop.ts) to run both in order.
import { z } from "zod";
import { parseJsonRecords } from "../parsers/records";
import { check } from "../quality/checks";
import { SAMPLE_ORIGIN } from "../upstream/fetch";
import { definePipeline, type PlannedBatch, type Source } from "./define";
import { isoDate } from "./windows";

const date = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "expected a date as YYYY-MM-DD")
  .refine((s) => isoDate(Date.parse(`${s}T00:00:00Z`)) === s, "not a calendar date");

export const shopParams = z
  .object({ from: date, to: date })
  .strict()
  .refine((p) => p.from < p.to, { message: "to must be after from", path: ["to"] })
  .refine((p) => Date.parse(p.to) - Date.parse(p.from) <= 366 * 86_400_000, { message: "at most a year of days", path: ["to"] });

const source: Source = {
  name: "sample-shop",
  baseUrl: `${SAMPLE_ORIGIN}/sample/shop`,
  rateLimit: [{ requests: 100, per: "1s" }],
  concurrency: 8,
  timeoutMs: 30_000,
};

/** One batch a day of [from, to). */
function* days(entity: string, p: z.infer<typeof shopParams>): Generator<PlannedBatch> {
  for (let t = Date.parse(`${p.from}T00:00:00Z`); t < Date.parse(`${p.to}T00:00:00Z`); t += 86_400_000) {
    yield { partition: `${entity}/date=${isoDate(t)}`, data: { date: isoDate(t) } };
  }
}

const changesOf = (body: string) =>
  parseJsonRecords(body, "changes").map((r) => ({
    ...r,
    changed_at: new Date(String(r.changed_at)),
    ...(r.placed_at === undefined ? {} : { placed_at: new Date(String(r.placed_at)) }),
  }));

/** How a pipeline reads one of the shop's feeds: a batch a day, each the day's changes. */
export const shopFeed = (entity: "customers" | "orders") => ({
  params: shopParams,
  source,
  plan: (p: z.infer<typeof shopParams>) => days(entity, p),
  request: (batch: PlannedBatch, s: Source) => ({ url: `${s.baseUrl}/${entity}/changes?date=${String(batch.data.date)}` }),
  parse: changesOf,
});

export const sampleCustomers = definePipeline({
  name: "sample-customers",
  description: "Customer changes from the sample shop's feed, kept as current and history tables (SCD 1 and 2).",
  ...shopFeed("customers"),
  rowSchema: z.object({
    customer_id: z.string(),
    seq: z.int(),
    op: z.enum(["insert", "update", "delete"]),
    changed_at: z.date(),
    name: z.string(),
    city: z.string(),
  }),
  key: ["customer_id", "seq"],
  changes: { key: ["customer_id"], sequence: "seq", at: "changed_at", operation: { column: "op", deletes: ["delete"] } },
  quality: [check.schema()],
});

const live = (r: Record<string, unknown>) => r.status !== "cancelled";
const ordersAndRevenue = {
  orders: { fn: "count" },
  revenue: { fn: "sum", column: "amount" },
  mean_amount: { fn: "mean", column: "amount" },
} as const;

export const sampleOrders = definePipeline({
  name: "sample-orders",
  description: "Order changes from the sample shop's feed: current and history tables, and daily and monthly orders and revenue.",
  ...shopFeed("orders"),
  rowSchema: z.object({
    order_id: z.string(),
    seq: z.int(),
    op: z.enum(["insert", "update"]),
    changed_at: z.date(),
    placed_at: z.date(),
    customer_id: z.string(),
    seller_id: z.string(),
    amount: z.number(),
    status: z.enum(["placed", "shipped", "delivered", "cancelled"]),
  }),
  key: ["order_id", "seq"],
  changes: { key: ["order_id"], sequence: "seq", at: "changed_at" },
  // Gold over the current table (every order's latest state, whichever run brought it), by the
  // day and month the orders were placed: a repeat or a late change in the feed counts once.
  gold: [
    {
      name: "daily",
      over: "current",
      groupBy: ["status"],
      bucket: { column: "placed_at", unit: "day", as: "day" },
      aggregates: { ...ordersAndRevenue, customers: { fn: "distinct", column: "customer_id" }, p90_amount: { fn: "quantile", column: "amount", q: 0.9 } },
    },
    { name: "monthly", over: "current", groupBy: [], bucket: { column: "placed_at", unit: "month", as: "month" }, where: live, aggregates: ordersAndRevenue },
    {
      name: "seller-daily",
      over: "current",
      groupBy: ["seller_id"],
      bucket: { column: "placed_at", unit: "day", as: "day" },
      where: live,
      aggregates: ordersAndRevenue,
    },
    {
      name: "customer-revenue",
      over: "current",
      groupBy: ["customer_id"],
      where: live,
      aggregates: { orders: { fn: "count" }, revenue: { fn: "sum", column: "amount" } },
      lookup: { from: sampleCustomers, dataset: "current", window: "latest", on: "customer_id", columns: ["name", "city"] },
    },
  ],
  quality: [check.schema()],
});
