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
import { POSTS, type UpstreamStats } from "../limits-pipelines";
import { cursorPagination } from "../../src/upstream/pagination";
import { parseJsonRecords } from "../../src/parsers/records";
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

registerPipeline(
  definePipeline({
    name: "bounded-walks",
    description: "one walk of pages from each URL, 20 pages at most",
    params: z.object({ urls: z.array(z.string()).min(1) }).strict(),
    source: { name: "bounded-walks-api", baseUrl: base, rateLimit: [{ requests: 200, per: "1s" }], concurrency: 4, timeoutMs: 20_000 },
    *plan(params) {
      for (const [i, url] of params.urls.entries()) yield { partition: `walks/${crypto.randomUUID().slice(0, 8)}-${i}`, data: { url } };
    },
    request: (batch) => ({ url: String(batch.data.url) }),
    paginate: cursorPagination({ cursorPath: "next_cursor", param: "cursor" }),
    parse: (body) => parseJsonRecords(body, "accounts").map((r) => ({ id: Number(r.id) })),
    rowSchema: z.object({ id: z.int() }),
    key: ["id"],
    maxPages: 20,
    maxAttempts: 3,
    retryPasses: 0,
    toleratedFailurePercent: 100,
  }),
);

/** Run `pipeline` over `urls`; the run, its ingest tasks by URL order, and what the upstream saw. */
async function walk(urls: string[]) {
  await configureSample({ trackRepeats: true });
  const res = await api("/v1/jobs", { method: "POST", json: { pipeline: "bounded-walks", params: { urls } } });
  const run = await waitForRun(((await res.json()) as { id: string }).id);
  const { tasks } = (await (await api(`/v1/jobs/${run.id}/tasks?phase=ingest`)).json()) as { tasks: TaskView[] };
  const stats = (await (await api("/sample/edr/_stats")).json()) as UpstreamStats;
  const partial = await env.BUCKET.list({ prefix: `runs/${run.id}/partial/` });
  return { run, tasks: tasks.sort((a, b) => (a.batchId ?? "").localeCompare(b.batchId ?? "")), stats, partial: partial.objects.length };
}

describe("bounded responses", () => {
  it("fails a walk of pages that does not end at maxPages, for good, after exactly that many requests", async () => {
    // A million pages of one id: the cursor is honest, the walk too long for one batch.
    const { run, tasks, stats, partial } = await walk([`${base}/accounts?limit=1&total=1000000`]);
    expect([run.status, tasks[0]!.status, tasks[0]!.attempts, tasks[0]!.error?.type]).toEqual(["failed", "dead", 1, "too_many_pages"]);
    expect(tasks[0]!.error!.message).toContain("more than 20 pages");
    expect([stats.requests, stats.repeats, partial]).toEqual([20, 0, 0]);
  });

  it("fails a walk whose cursor goes round as soon as a next page is one it fetched, without asking for it again", async () => {
    // Three pages, the third naming the first as next; beside it a walk that ends lands whole.
    const { run, tasks, stats } = await walk([`${base}/loop?period=3&cursor=0`, `${base}/accounts?limit=10&total=35`]);
    const [loop, honest] = tasks;
    expect([loop!.status, loop!.attempts, loop!.error?.type]).toEqual(["dead", 1, "pagination_loop"]);
    expect(loop!.error!.message).toContain("page 3 of");
    expect(loop!.error!.message).not.toContain("cursor=");
    expect(honest!.status).toBe("succeeded");
    expect(run.output?.rows).toBe(35);
    expect([stats.requests, stats.repeats]).toEqual([3 + 4, 0]);
  });


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
