// Ingest never holds a large body whole: a body over HOLD_BYTES for a pipeline that parses as it
// streams goes into a staging object in R2 as it arrives, is checked from there and copied under
// its bronze raw key. The stored bytes are the upstream's, byte for byte; a body cut short is
// fetched again, not stored; one past the bound fails for good; nothing stays staged.
import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { api, configureSample, env, registerPipeline, waitForRun } from "../helpers";
import { definePipeline } from "../../src/pipelines/define";
import { DEFAULT_STATIONS, WEATHER_PARAMETERS } from "../../src/sample/weather-data";
import { SAMPLE_ORIGIN } from "../../src/upstream/fetch";
import { HOLD_BYTES, receiveBody } from "../../src/upstream/staged-body";
import { hash32, sha256Hex } from "../../src/hash";
import type { TaskView } from "../../src/types";

/** A year of hourly rows for every default station: one batch of about 3 MiB of CoverageJSON. */
const yearOf = (year: number) => ({ stations: DEFAULT_STATIONS, from: `${year}-01-01`, to: `${year + 1}-01-01`, chunk: "year" });
const hoursOf = (year: number) => (Date.UTC(year + 1, 0, 1) - Date.UTC(year, 0, 1)) / 3_600_000;

async function run(pipeline: string, params: unknown, options: Record<string, unknown> = {}) {
  const res = await api("/v1/jobs", { method: "POST", json: { pipeline, params, options } });
  expect(res.status).toBe(202);
  const view = await waitForRun(((await res.json()) as { id: string }).id, 120_000);
  const { tasks } = (await (await api(`/v1/jobs/${view.id}/tasks?phase=ingest`)).json()) as { tasks: TaskView[] };
  return { view, tasks };
}

/** What the upstream sends for the year's batch, asked directly (no faults). */
async function upstreamBody(year: number): Promise<Uint8Array> {
  const query = new URLSearchParams({ datetime: `${year}-01-01T00:00:00Z/${year + 1}-01-01T00:00:00Z`, "parameter-name": [...WEATHER_PARAMETERS].sort().join(",") });
  const res = await api(`/sample/edr/collections/hourly/locations/${[...DEFAULT_STATIONS].sort().join(",")}?${query}`);
  expect(res.status).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
}

async function stagedLeft(runId: string): Promise<string[]> {
  return (await env.BUCKET.list({ prefix: `runs/${runId}/staged/` })).objects.map((o) => o.key);
}

describe("large bodies stream through R2", () => {
  it("stores a body over HOLD_BYTES byte for byte, with its rows and SHA-256, and leaves nothing staged", async () => {
    await configureSample({});
    const { view, tasks } = await run("sample-weather", yearOf(2019));
    expect(view.status).toBe("succeeded");
    expect(view.output?.rows).toBe(DEFAULT_STATIONS.length * hoursOf(2019));
    const raw = await env.BUCKET.get(tasks[0]!.outputKey!);
    const stored = new Uint8Array(await raw!.arrayBuffer());
    expect(stored.length).toBeGreaterThan(HOLD_BYTES);
    const sent = await upstreamBody(2019);
    expect(stored.length).toBe(sent.length);
    expect(await sha256Hex(stored)).toBe(await sha256Hex(sent));
    expect(raw!.customMetadata).toMatchObject({ sha256: await sha256Hex(sent), rows: String(DEFAULT_STATIONS.length * hoursOf(2019)) });
    expect(await stagedLeft(view.id)).toEqual([]);
  });

  it("drops what a task staged and never stored once its run has ended", async () => {
    // A body left staged, as by a worker stopped between staging and storing it: put while the
    // run is still planning (its first batch is not even fetched when the POST answers).
    await configureSample({});
    const res = await api("/v1/jobs", { method: "POST", json: { pipeline: "sample-weather", params: { stations: ["10000"], from: "2024-01-01", to: "2024-01-02" } } });
    const { id } = (await res.json()) as { id: string };
    await env.BUCKET.put(`runs/${id}/staged/lost/batch.body`, new Uint8Array(HOLD_BYTES + 1));
    const view = await waitForRun(id);
    expect(view.status).toBe("succeeded");
    // Dropped as the ended run settles (with its manifest), which may follow its status by a moment.
    await vi.waitUntil(async () => (await stagedLeft(id)).length === 0, { timeout: 10_000, interval: 50 });
  });

  it("fetches a body cut short again inside its task and stores the whole one", async () => {
    // The first answer is cut in half (still over HOLD_BYTES: it is staged, then fails its check),
    // the second is whole: the sample upstream draws its faults by arrival from the seed.
    const faulty = (seed: number, index: number) => hash32(`${seed}|${index}`) / 0x1_0000_0000 < 0.5;
    const seed = Array.from({ length: 100 }, (_, i) => i).find((s) => faulty(s, 1) && !faulty(s, 2))!;
    await configureSample({ faultRate: 0.5, faultKinds: ["truncate"], seed });
    const { view, tasks } = await run("sample-weather", yearOf(2018));
    const stats = (await (await api("/sample/edr/_stats")).json()) as { faults: Record<string, number> };
    expect(view.status).toBe("succeeded");
    expect(stats.faults.truncate).toBe(1);
    expect(tasks[0]!.attempts).toBe(1); // the page was fetched again, not the task retried
    await configureSample({});
    const raw = await env.BUCKET.get(tasks[0]!.outputKey!);
    expect(await sha256Hex(await raw!.arrayBuffer())).toBe(await sha256Hex(await upstreamBody(2018)));
    expect(view.output?.rows).toBe(DEFAULT_STATIONS.length * hoursOf(2018));
    expect(await stagedLeft(view.id)).toEqual([]);
  });
});

/** Bodies of any size from the sample social API's `big` page, for a parser that reads as it streams. */
registerPipeline(
  definePipeline({
    name: "streamed-pages",
    description: "one streamed body of any size per batch",
    params: z.object({ bytes: z.array(z.int()).min(1) }).strict(),
    source: {
      name: "streamed-pages-api",
      baseUrl: `${SAMPLE_ORIGIN}/sample/social`,
      rateLimit: [{ requests: 100, per: "1s" }],
      concurrency: 4,
      timeoutMs: 20_000,
      maxResponseBytes: 6 * 1024 * 1024,
    },
    *plan(params) {
      for (const bytes of params.bytes) yield { partition: `streamed/${crypto.randomUUID().slice(0, 8)}-${bytes}`, data: { bytes } };
    },
    request: (batch, source) => ({ url: `${source.baseUrl}/big?bytes=${Number(batch.data.bytes)}` }),
    parse: () => [],
    // The page is one object with an empty list of posts: each chunk is looked at, none kept.
    async *parseStream(body) {
      let first = true;
      for await (const chunk of body) {
        if (first && new TextDecoder().decode(chunk.subarray(0, 10)) !== '{"posts":[') throw new Error("not a page of posts");
        first = false;
      }
      yield [];
    },
    rowSchema: z.object({ id: z.string() }),
    key: ["id"],
    maxAttempts: 2,
    retryPasses: 0,
    toleratedFailurePercent: 100,
  }),
);

describe("bodies without a length", () => {
  it("holds one that ends within HOLD_BYTES, stages a larger one, and fails one past the bound for good with nothing staged", async () => {
    await configureSample({});
    const sizes = [200_000, 3 * 1024 * 1024, 9 * 1024 * 1024];
    const { view, tasks } = await run("streamed-pages", { bytes: sizes });
    const dead = tasks.filter((t) => t.status === "dead");
    expect(dead.map((t) => [t.attempts, t.error?.type])).toEqual([[1, "response_too_large"]]);
    const stored = await Promise.all(tasks.filter((t) => t.status === "succeeded").map(async (t) => (await env.BUCKET.head(t.outputKey!))!));
    expect(stored.map((o) => [o.size, o.key.endsWith(`-${o.size}.json`)]).sort()).toEqual([
      [200_000, true],
      [3 * 1024 * 1024, true],
    ]);
    expect(await stagedLeft(view.id)).toEqual([]);
  });
});

describe("receiveBody", () => {
  /** A body of `size` bytes in 64 KiB chunks, with or without its length stated. */
  const answer = (size: number, stateLength: boolean) => {
    const bytes = new Uint8Array(size).map((_, i) => i % 251);
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= size) return controller.close();
        controller.enqueue(bytes.slice(at, (at += 65_536)));
      },
    });
    return { bytes, response: new Response(body, stateLength ? { headers: { "content-length": String(size) } } : {}) };
  };
  const options = (key: string) => ({ max: 8 * 1024 * 1024, url: "https://upstream.test/page", bucket: env.BUCKET, key });

  for (const stateLength of [true, false]) {
    it(`holds a body within HOLD_BYTES and stages a larger one as it streams (length ${stateLength ? "stated" : "unstated"})`, async () => {
      const small = answer(HOLD_BYTES, stateLength);
      const held = await receiveBody(small.response, options("staged/small"));
      expect("held" in held && held.held).toEqual(small.bytes);
      expect(await env.BUCKET.head("staged/small")).toBeNull();

      const large = answer(6 * 1024 * 1024 + 17, stateLength);
      const staged = await receiveBody(large.response, options("staged/large"));
      expect(staged).toEqual({ staged: { key: "staged/large", bytes: large.bytes.length, sha256: await sha256Hex(large.bytes) } });
      expect(new Uint8Array(await (await env.BUCKET.get("staged/large"))!.arrayBuffer())).toEqual(large.bytes);
    });
  }

  it("fails a body past the bound for good and leaves nothing under the key", async () => {
    const { response } = answer(9 * 1024 * 1024, false);
    await expect(receiveBody(response, options("staged/over"))).rejects.toMatchObject({ detail: { type: "response_too_large", class: "permanent" } });
    expect(await env.BUCKET.head("staged/over")).toBeNull();
  });
});
