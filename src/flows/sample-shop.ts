// sample-shop: seed 004's CDC pipeline on the sample shop's change feeds. Customers first (their
// current and history tables), then orders (theirs, and the daily and monthly gold), since the
// orders' revenue per customer looks each customer's city up in the customers' current table.
// Run it for a span of days to load, then a day at a time: each run builds on the tables the one
// before it published.
import { defineFlow } from "./define";

export const sampleShop = defineFlow({
  name: "sample-shop",
  description: "Seed 004's CDC: customer changes, then order changes, into current and history tables and daily gold.",
  steps: {
    customers: { pipeline: "sample-customers", params: (w) => ({ from: w.from, to: w.to }), retries: 1, retryDelay: "30s" },
    orders: { pipeline: "sample-orders", after: ["customers"], params: (w) => ({ from: w.from, to: w.to }), retries: 1, retryDelay: "30s" },
  },
  maxConcurrentRuns: 1,
});
