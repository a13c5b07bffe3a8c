// Bounded work (issue 15, item 8): a page larger than the source's maxResponseBytes fails its task
// permanently, by Content-Length or as it streams, while the other tasks of the run go on; a line
// of an input list longer than the bound is an error, not a growing string.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { registerPipeline } from "../helpers";
import { definePipeline } from "../../src/pipelines/define";
import { linesOf } from "../../src/r2/lines";
import { postCount } from "../../src/sample/social";
import { SAMPLE_ORIGIN } from "../../src/upstream/fetch";
import type { TaskView } from "../../src/types";
import { POSTS } from "../limits-pipelines";
import { api, configureSample, env, waitForRun } from "../helpers";

const base = `${SAMPLE_ORIGIN}/sample/social`;

registerPipeline(
  definePipeline({
    name: "bounded-pages",
    description: "pages of any size",
    params: z.object({ urls: z.array(z.string()).min(1) }).strict(),
    source: {
      name: "bounded-pages-api",
      baseUrl: base,
      rateLimit: [{ requests: 100, per: "1s" }],
      concurrency: 4,
      timeoutMs: 20_000,
      maxResponseBytes: 1024 * 1024,
    },
    *plan(params) {
      for (const [i, url] of params.urls.entries()) yield { partition: `bounded/${crypto.randomUUID().slice(0, 8)}-${i}`, data: { url } };
    },
    request: (batch) => ({ url: String(batch.data.url) }),
    ...POSTS,
    maxAttempts: 2,
    retryPasses: 0,
    toleratedFailurePercent: 100,
  }),
);

describe("bounded responses", () => {
  it("fails a task whose page is over the bound, permanently and at once; the run's other tasks land", async () => {
    await configureSample({});
    const urls = [`${base}/big?bytes=${8 * 1024 * 1024}`, `${base}/accounts/12/posts?limit=100`];
    const res = await api("/v1/jobs", { method: "POST", json: { pipeline: "bounded-pages", params: { urls } } });
    const run = await waitForRun(((await res.json()) as { id: string }).id);
    const { tasks } = (await (await api(`/v1/jobs/${run.id}/tasks?phase=ingest`)).json()) as { tasks: TaskView[] };
    const [big, small] = tasks.sort((a, b) => (a.batchId ?? "").localeCompare(b.batchId ?? ""));
    expect([big!.status, big!.attempts, big!.error?.type]).toEqual(["dead", 1, "response_too_large"]);
    expect(big!.error!.message).toContain("1048576 bytes");
    expect(small!.status).toBe("succeeded");
    expect(run.output?.rows).toBe(postCount("12"));
  });

  it("refuses a line longer than the bound in a list read from R2", async () => {
    await env.BUCKET.put("inputs/long-line.txt", `1\n2\n${"9".repeat(70_000)}\n3\n`);
    const read: string[] = [];
    await expect(
      (async () => {
        for await (const line of linesOf(env.BUCKET, "inputs/long-line.txt")) read.push(line);
      })(),
    ).rejects.toThrow(/line 3 is longer than 65536 bytes/);
    expect(read).toEqual(["1", "2"]);
  });
});
