// A paginated batch whose task fails part way goes on from where it stopped: its pages and the
// next page's URL are kept in R2, so the retried task fetches no page twice (issue 14, item 4).
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { registerPipeline } from "../helpers";
import { definePipeline } from "../../src/pipelines/define";
import { postCount } from "../../src/sample/social";
import { SAMPLE_ORIGIN } from "../../src/upstream/fetch";
import { cursorPagination } from "../../src/upstream/pagination";
import type { TaskView } from "../../src/types";
import { api, configureSample, waitForRun } from "../helpers";
import { POSTS, type UpstreamStats } from "../limits-pipelines";

registerPipeline(
  definePipeline({
    name: "resume-pages",
    description: "one account's posts, two a page, every failed page failing its task",
    params: z.object({ accounts: z.array(z.string()).min(1), tag: z.string() }).strict(),
    // No retry inside the task: each failed page fails the task, which must go on from its pages.
    source: {
      name: "resume-pages-api",
      baseUrl: `${SAMPLE_ORIGIN}/sample/social`,
      rateLimit: [{ requests: 200, per: "1s" }],
      concurrency: 4,
      timeoutMs: 5_000,
      retry: { attempts: 1 },
    },
    *plan(params) {
      for (const account of params.accounts) yield { partition: `resume/${params.tag}/account=${account}`, data: { account } };
    },
    request: (batch, source) => ({ url: `${source.baseUrl}/accounts/${String(batch.data.account)}/posts?limit=2` }),
    paginate: cursorPagination({ cursorPath: "next_cursor", param: "cursor" }),
    ...POSTS,
    maxAttempts: 10,
    retryPasses: 0,
    window: (p) => ({ name: p.tag, hive: `tag=${p.tag}` }),
  }),
);

describe("paginated batches resume", () => {
  it("retries tasks whose pages failed without fetching any page twice", async () => {
    // Four accounts with more than 10 posts: more than 5 pages each.
    const accounts = Array.from({ length: 96 }, (_, i) => String(i + 1))
      .filter((a) => postCount(a) > 10)
      .slice(0, 4);
    expect(accounts).toHaveLength(4);
    await configureSample({ faultRate: 0.15, faultKinds: ["5xx"], trackRepeats: true, seed: 3 });
    const res = await api("/v1/jobs", { method: "POST", json: { pipeline: "resume-pages", params: { accounts, tag: `r${crypto.randomUUID().slice(0, 6)}` } } });
    const run = await waitForRun(((await res.json()) as { id: string }).id);
    const stats = (await (await api("/sample/edr/_stats")).json()) as UpstreamStats;
    const { tasks } = (await (await api(`/v1/jobs/${run.id}/tasks?phase=ingest`)).json()) as { tasks: TaskView[] };
    expect(run.status).toBe("succeeded");
    expect(run.output?.rows).toBe(accounts.reduce((n, a) => n + postCount(a), 0));
    expect(stats.faults["5xx"]).toBeGreaterThan(0);
    expect(tasks.some((t) => t.attempts > 1)).toBe(true); // some task failed part way and was retried
    expect(stats.repeats).toBe(0);
  });
});
