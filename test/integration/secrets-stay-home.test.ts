// A source's secret goes only to the source's origin (issue 15, item 1): a next page (Link) or a
// redirect to another origin, or from https to http, is refused before anything is sent there,
// as a permanent error naming the origin; within the origin, both are followed.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { registerPipeline } from "../helpers";
import { definePipeline } from "../../src/pipelines/define";
import { postCount } from "../../src/sample/social";
import { SAMPLE_ORIGIN } from "../../src/upstream/fetch";
import { linkPagination } from "../../src/upstream/pagination";
import type { TaskView } from "../../src/types";
import { POSTS } from "../limits-pipelines";
import { api, configureSample, waitForRun } from "../helpers";

const SECRET = "s3cr3t-social-token-7f2a";
const base = `${SAMPLE_ORIGIN}/sample/social`;

registerPipeline(
  definePipeline({
    name: "secret-origins",
    description: "pages that point elsewhere",
    params: z.object({ urls: z.array(z.string()).min(1) }).strict(),
    source: {
      name: "secret-origins-api",
      baseUrl: base,
      rateLimit: [{ requests: 100, per: "1s" }],
      concurrency: 4,
      timeoutMs: 5_000,
      auth: { header: "authorization", scheme: "Bearer", secret: "SOCIAL_API_TOKEN" },
    },
    *plan(params) {
      for (const [i, url] of params.urls.entries()) yield { partition: `origins/${crypto.randomUUID().slice(0, 8)}-${i}`, data: { url } };
    },
    request: (batch) => ({ url: String(batch.data.url) }),
    paginate: linkPagination(),
    ...POSTS,
    maxAttempts: 1,
    retryPasses: 0,
    toleratedFailurePercent: 100,
  }),
);

describe("the secret stays at its origin", () => {
  it("refuses a next page or a redirect to another origin, follows them within the origin", async () => {
    await configureSample({ socialToken: SECRET });
    const elsewhere = "https://collector.invalid/steal";
    const urls = [
      `${base}/link?next=${encodeURIComponent(elsewhere)}`,
      `${base}/moved?to=${encodeURIComponent(elsewhere)}`,
      `${base}/link?next=${encodeURIComponent(base.replace("http:", "https:") + "/accounts/5/posts")}`,
      `${base}/link?next=${encodeURIComponent(`${base}/accounts/5/posts?limit=100`)}`,
      `${base}/moved?to=${encodeURIComponent(`${base}/accounts/6/posts?limit=100`)}`,
    ];
    const res = await api("/v1/jobs", { method: "POST", json: { pipeline: "secret-origins", params: { urls } } });
    expect(res.status).toBe(202);
    const run = await waitForRun(((await res.json()) as { id: string }).id);
    const { tasks } = (await (await api(`/v1/jobs/${run.id}/tasks?phase=ingest`)).json()) as { tasks: TaskView[] };
    const byBatch = tasks.sort((a, b) => (a.batchId ?? "").localeCompare(b.batchId ?? ""));
    expect(byBatch.map((t) => [t.status, t.error?.type ?? null])).toEqual([
      ["dead", "cross_origin_refused"],
      ["dead", "cross_origin_refused"],
      ["dead", "cross_origin_refused"],
      ["succeeded", null],
      ["succeeded", null],
    ]);
    expect(byBatch[0]!.error!.message).toContain("https://collector.invalid");
    expect(byBatch[1]!.error!.message).toContain("redirect (302)");
    expect(byBatch[2]!.error!.message).toContain("https://sample-upstream.sluice.internal");
    for (const t of tasks) expect(JSON.stringify(t)).not.toContain(SECRET);
    expect(run.output?.rows).toBe(postCount("5") + postCount("6"));
  });
});
