import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      // The tests' API token and secrets; queues in memory (a restarted run re-sends its tasks at once).
      miniflare: { bindings: { SLUICE_API_TOKEN: "test-token", SHOP_API_KEY: "test-key", SLUICE_QUEUE_IN_MEMORY: "true" } },
    }),
  ],
  test: { include: ["test/**/*.test.ts"], testTimeout: 60_000 },
});
