// sample-chain: seed 002's DAG on the sample pipelines. Two crawlers run in parallel (crawl_api:
// the social API's posts; crawl_web: the weather API's day), retried twice; then processing
// (retried once) and ETL (no automatic retry: re-run it by hand when a transform changed), each a
// derived pipeline reading the step before it, downloading nothing; ETL also needs the stations
// dimension (sample-stations) for its lookup. Seed 002's upload_to_s3 is
// what every step's run does at its end (its gold written and published in R2); its notify is
// the flow's webhook on success.
import { SAMPLE_ORIGIN } from "../upstream/fetch";
import { defineFlow } from "./define";

export const CHAIN_ACCOUNTS = ["301", "302", "303", "304"];
export const CHAIN_STATIONS = ["10222", "10259", "10296"];

export const sampleChain = defineFlow({
  name: "sample-chain",
  description: "Seed 002's chain: two crawlers, then processing and ETL, then a notification.",
  steps: {
    "crawl-api": { pipeline: "sample-posts", params: () => ({ accounts: CHAIN_ACCOUNTS }), retries: 2, retryDelay: "30s" },
    "crawl-web": {
      pipeline: "sample-weather",
      params: (w) => ({ from: w.from, to: w.to, chunk: "day", stations: CHAIN_STATIONS }),
      retries: 2,
      retryDelay: "30s",
    },
    process: { pipeline: "sample-weather-processed", after: ["crawl-api", "crawl-web"], params: (w) => w, retries: 1 },
    // The stations dimension the ETL step's station-day rows look their names up in.
    stations: { pipeline: "sample-stations", params: () => ({}) },
    etl: { pipeline: "sample-weather-daily", after: ["process", "stations"], params: (w) => w },
  },
  notify: { url: `${SAMPLE_ORIGIN}/sample/hooks/sample-chain`, on: ["succeeded", "failed", "step_failed"] },
});
