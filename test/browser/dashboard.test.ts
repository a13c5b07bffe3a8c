// The dashboard in a real browser (Debian's Chromium via playwright-core) against wrangler dev:
// pages load, a live run's progress moves, a failed task's error shows.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../scripts/lib/browser.ts";
import { client, type Client } from "../../scripts/lib/client.ts";
import { startLocalServer, type LocalServer } from "../../scripts/lib/local-server.ts";

let server: LocalServer;
let api: Client;
let browser: Browser;
const shots = join(import.meta.dirname, "../../out/screenshots");

beforeAll(async () => {
  server = await startLocalServer();
  api = client({ baseUrl: server.url, token: server.token });
  browser = await launchChromium();
  mkdirSync(shots, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe("dashboard in Chromium", () => {
  it("shows a live run's progress moving, then a failed task's error", async () => {
    // The upstream holds its answers: the run is live, and its progress still, until the test lets it answer.
    await api.sampleConfig({ holdRequests: true, perSecond: 50, failingStations: ["10444"] });
    const stations = ["10000", "10037", "10074", "10111", "10444"];
    const { id } = await api.json<{ id: string }>("/v1/jobs", {
      method: "POST",
      json: {
        pipeline: "sample-weather",
        params: { stations, from: "2023-01-01", to: "2023-01-21", chunk: "day", stationsPerBatch: 1 },
        options: { maxAttempts: 1, retryPasses: 0, toleratedFailurePercent: 25 },
      },
    });
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(`${server.url}/`);
    await expect.poll(() => page.locator(`a[href="/runs/${id}"]`).count()).toBe(1);
    await page.screenshot({ path: join(shots, "home-live.png"), fullPage: true });

    await page.goto(`${server.url}/runs/${id}`);
    const progress = async () => Number(/(\d+)\/\d+ tasks/.exec(await page.locator("body > p").first().innerText())?.[1] ?? -1);
    const first = await progress();
    await page.screenshot({ path: join(shots, "run-live.png"), fullPage: true });
    await api.sampleConfig({ perSecond: 50, failingStations: ["10444"] }); // answers what was held
    // The page refreshes itself; wait (on the page, not the clock) for the count to move.
    await expect.poll(async () => (await page.reload(), progress()), { timeout: 60_000, interval: 500 }).toBeGreaterThan(first);

    await api.wait(id, undefined, 300);
    // A fresh page: the live one's own refresh could interrupt a navigation away from it.
    await page.close();
    const ended = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await ended.goto(`${server.url}/runs/${id}?status=failed`);
    await expect.poll(() => ended.locator("td.err").first().innerText()).toContain("upstream_5xx");
    expect(await ended.locator(".status").first().innerText()).toBe("partial");
    await ended.screenshot({ path: join(shots, "run-failed-tasks.png"), fullPage: true });
    await ended.goto(`${server.url}/docs`);
    expect(await ended.title()).toBe("sluice API reference");
    await ended.close();
  });
});
