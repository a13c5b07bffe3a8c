// sample-daily: seed 004's daily job, on the sample pipelines. A first step loads the accounts'
// posts (seed 004's generate_data: one retry, a minute apart); after it, two weather pipelines run
// in parallel (its main and CDC pipelines), each for the day the firing covers. Daily at 06:00
// with a 3-hour timeout and no overlapping runs; a weekly full refresh (every step downloads
// again) is paused until someone resumes it. Per environment: `SLUICE_SCHEDULES` pauses it in dev
// or moves it to 07:00 in staging ("sample-daily/daily").
import { defineFlow } from "./define";

/** The accounts the first step loads, and the stations of each weather step. */
export const SAMPLE_DAILY_ACCOUNTS = ["101", "102", "103", "104", "105", "106"];
export const NORTH_STATIONS = ["10000", "10037", "10074"];
export const SOUTH_STATIONS = ["10111", "10148", "10185"];

export const sampleDaily = defineFlow({
  name: "sample-daily",
  description: "Seed 004's daily job: posts first (retried once), then two weather pipelines in parallel for the day.",
  steps: {
    posts: { pipeline: "sample-posts", params: () => ({ accounts: SAMPLE_DAILY_ACCOUNTS, batchSize: 3 }), retries: 1, retryDelay: "60s" },
    "weather-north": {
      pipeline: "sample-weather",
      after: ["posts"],
      params: (w) => ({ from: w.from, to: w.to, chunk: "day", stations: NORTH_STATIONS }),
    },
    "weather-south": {
      pipeline: "sample-weather",
      after: ["posts"],
      params: (w) => ({ from: w.from, to: w.to, chunk: "day", stations: SOUTH_STATIONS }),
    },
  },
  schedules: [
    { name: "daily", cron: "0 6 * * *", window: "previous-day" },
    { name: "weekly-refresh", cron: "0 2 * * 0", window: "previous-day", paused: true, fullRefresh: true },
  ],
  timeout: "3h",
  maxConcurrentRuns: 1,
});
