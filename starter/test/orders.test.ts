// The orders pipeline end to end in workerd (local Durable Objects, Queues and R2), against
// recorded answers of the shop's API; and wrangler.toml checked against the pipelines.
import { exports } from "cloudflare:workers";
import { runToEnd, useRecordedUpstream, wranglerTomlProblems } from "sluice/testing";
import { afterEach, expect, it } from "vitest";
import toml from "../wrangler.toml?raw";
import { sluice } from "../src/index";

const API = "https://shop.example.com/api/orders";
const order = (id: number, day: string) => ({
  order_id: `o-${id}`,
  customer_id: `c-${id % 7}`,
  status: "paid",
  total_cents: 1_000 + id,
  created_at: `${day}T10:00:00Z`,
});

let upstream: ReturnType<typeof useRecordedUpstream> | undefined;
afterEach(() => upstream?.restore());

it("fetches every page of every day, and writes each order once", async () => {
  upstream = useRecordedUpstream({
    [`GET ${API}?day=2026-11-01&limit=100`]: { body: { orders: [order(1, "2026-11-01"), order(2, "2026-11-01")], next_cursor: "p2" } },
    [`GET ${API}?day=2026-11-01&limit=100&cursor=p2`]: { body: { orders: [order(3, "2026-11-01")], next_cursor: null } },
    // A 503 first: retried where it failed, the other pages kept.
    [`GET ${API}?day=2026-11-02&limit=100`]: [{ status: 503, body: "busy" }, { body: { orders: [order(4, "2026-11-02")], next_cursor: null } }],
  });
  const run = await runToEnd(exports.default, "orders", { from: "2026-11-01", to: "2026-11-03" }, { token: "test-token" });
  expect(upstream.unrecorded).toEqual([]);
  expect(run.status).toBe("succeeded");
  expect(run.output?.rows).toBe(4);
  expect(upstream.requests.every((r) => r.startsWith(`GET ${API}`))).toBe(true);
});

it("refuses params that are not dates, and changes nothing", async () => {
  const res = await exports.default.fetch(
    new Request("http://sluice.test/v1/jobs", {
      method: "POST",
      headers: { authorization: "Bearer test-token", "content-type": "application/json" },
      body: JSON.stringify({ pipeline: "orders", params: { from: "yesterday", to: "2026-11-03" } }),
    }),
  );
  expect(res.status).toBe(400);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_params");
});

it("binds, queues and fires in wrangler.toml what the pipelines need", () => {
  expect(wranglerTomlProblems(sluice.catalog, toml)).toEqual([]);
});
