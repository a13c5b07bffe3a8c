// orders: every order of each day from the shop's API (cursor pagination, 100 a page), one batch
// a day, keyed by order id. Runs daily at 06:00 UTC for the day before; backfill any range with
// `npx sluice backfill orders --from 2026-01-01 --to 2026-02-01`.
import { check, cursorPagination, definePipeline, isoDate, parseJsonRecords, windows } from "sluice";
import { z } from "zod";

export const orders = definePipeline({
  name: "orders",
  description: "Every order of each day from the shop's API.",
  params: z.object({ from: z.iso.date(), to: z.iso.date() }).strict(),
  source: {
    name: "shop-api",
    baseUrl: "https://shop.example.com/api",
    // What the API allows: no interval of a second holds more than 20 requests, none of an hour more than 5,000.
    rateLimit: [
      { requests: 20, per: "1s" },
      { requests: 5_000, per: "1h" },
    ],
    concurrency: 8,
    timeoutMs: 30_000,
    // The API key, from a Worker secret: `wrangler secret put SHOP_API_KEY`.
    auth: { header: "authorization", secret: "SHOP_API_KEY", scheme: "Bearer" },
  },
  *plan(params) {
    for (const { start } of windows(Date.parse(params.from), Date.parse(params.to), "day")) {
      yield { partition: `orders/day=${isoDate(start)}`, data: { day: isoDate(start) } };
    }
  },
  request: (batch, source) => ({ url: `${source.baseUrl}/orders?day=${String(batch.data.day)}&limit=100` }),
  paginate: cursorPagination({ cursorPath: "next_cursor", param: "cursor" }),
  parse: (body) => parseJsonRecords(body, "orders").map((o) => ({ ...o, created_at: new Date(String(o.created_at)) })),
  rowSchema: z.object({
    order_id: z.string(),
    customer_id: z.string(),
    status: z.enum(["placed", "paid", "shipped", "cancelled"]),
    total_cents: z.int().min(0),
    created_at: z.date(),
  }),
  key: ["order_id"],
  quality: [check.schema(), check.maxNullPercent("customer_id", 0)],
  schedules: [{ name: "daily", cron: "0 6 * * *", window: "previous-day", params: (w) => w, catchUp: { enabled: true, max: 7 } }],
});
