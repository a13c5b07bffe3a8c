// sample-daily: seed 004's daily job, on the sample pipelines. A first step loads some accounts'
// posts (seed 004's generate_data: one retry, a minute apart); after it, two other pipelines run
// in parallel (its main and CDC pipelines): the day's weather at six stations, and more accounts'
// posts. Daily at 06:00 with a 3-hour timeout and no overlapping runs; a weekly full refresh
// (every step downloads again) is paused until someone resumes it. Per environment,
// `SLUICE_SCHEDULES` pauses it in dev or moves it to 07:00 in staging ("sample-daily/daily").
import { defineFlow } from "./define";

/** The accounts of each posts step, and the weather step's stations. */
export const FIRST_ACCOUNTS = ["101", "102", "103", "104", "105", "106"];
export const MORE_ACCOUNTS = ["201", "202", "203"];
export const STATIONS = ["10000", "10037", "10074", "10111", "10148", "10185"];

export const sampleDaily = defineFlow({
  name: "sample-daily",
  description: "Seed 004's daily job: posts first (retried once), then the day's weather and more posts in parallel.",
  steps: {
    posts: { pipeline: "sample-posts", params: () => ({ accounts: FIRST_ACCOUNTS, batchSize: 3 }), retries: 1, retryDelay: "60s" },
    weather: { pipeline: "sample-weather", after: ["posts"], params: (w) => ({ from: w.from, to: w.to, chunk: "day", stations: STATIONS }) },
    "more-posts": { pipeline: "sample-posts", after: ["posts"], params: () => ({ accounts: MORE_ACCOUNTS }) },
  },
  schedules: [
    { name: "daily", cron: "0 6 * * *", window: "previous-day" },
    { name: "weekly-refresh", cron: "0 2 * * 0", window: "previous-day", paused: true, fullRefresh: true },
  ],
  timeout: "3h",
  maxConcurrentRuns: 1,
});
