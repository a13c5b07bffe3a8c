import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** What the local runtime turns on that wrangler.toml keeps off for any deployment. */
const LOCAL_VARS = { SAMPLE_UPSTREAM: "enabled", PUBLIC_READS: "true", SLUICE_QUEUE_IN_MEMORY: "true" };

/** The starter's files import the package by name: here that is this checkout's source. */
const resolve = { alias: [{ find: /^sluice(\/.*)?$/, replacement: `${new URL("./src/public", import.meta.url).pathname}$1` }] };

/** Tests run inside workerd with this repository's wrangler.toml, local vars and test secrets. */
const workerdPlugin = cloudflareTest({
  wrangler: { configPath: "./wrangler.toml" },
  miniflare: {
    bindings: {
      ...LOCAL_VARS,
      SLUICE_API_TOKEN: "test-token",
      SOCIAL_API_TOKEN: "s3cr3t-social-token-7f2a",
      HOOK_SIGNING_KEY: "whsec-test-4b1d9e",
      HOOK_TOKEN: "hook-token-test-77c0",
    },
  },
});

export default defineConfig({
  test: {
    // Three test files at once (each in its own workerd): the integration tests mostly wait on
    // queues and clocks, so even on these 2-CPU machines a third file fills the waits (the suite:
    // 424 s with three, 547 s with two, the same day).
    maxWorkers: 3,
    projects: [
      {
        // Unit tests: one module's arithmetic or parsing at a time (the limiter's grants over
        // simulated time, Arrow/Parquet, quality checks, config checks), nothing else started.
        resolve,
        plugins: [workerdPlugin],
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], testTimeout: 60_000 },
      },
      {
        // Integration tests: the Worker, its Durable Objects, Queues and R2 in local workerd,
        // against the sample upstream; each file self-contained (its own pipelines and storage).
        resolve,
        plugins: [workerdPlugin],
        test: { name: "integration", include: ["test/integration/**/*.test.ts"], testTimeout: 120_000, hookTimeout: 60_000 },
      },
      {
        // Benchmarks that must run inside workerd (npm run bench runs them; npm test does not).
        // scripts/bench.ts passes its settings as BENCH_* environment variables.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ...LOCAL_VARS,
                SLUICE_API_TOKEN: "test-token",
                ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("BENCH_"))),
              },
            },
          }),
        ],
        test: { name: "bench-workerd", include: ["test/bench/**/*.bench.ts"], testTimeout: 600_000 },
      },
      {
        // End-to-end from Node: wrangler dev on a free port, checked with DuckDB.
        test: { name: "node", include: ["test/node/**/*.test.ts"], environment: "node", testTimeout: 180_000, hookTimeout: 120_000 },
      },
      {
        // The dashboard in Debian's Chromium (npm run test:browser; CI installs chromium first).
        test: { name: "browser", include: ["test/browser/**/*.test.ts"], environment: "node", testTimeout: 180_000, hookTimeout: 120_000 },
      },
    ],
  },
});
