// A paginated batch whose task fails part way goes on from where it stopped: its pages and the
// next page's URL are kept in R2, so the retried task fetches no page twice (issue 14, item 4).
// A batch's raw is written page by page, spooled into R2 past 1 MiB: a batch of many pages holds
// one page, not all of them, and what it kept when it failed is copied into the next delivery's raw.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { registerPipeline } from "../helpers";
import { definePipeline } from "../../src/pipelines/define";
import { postCount } from "../../src/sample/social";
import { SAMPLE_ORIGIN } from "../../src/upstream/fetch";
import { cursorPagination } from "../../src/upstream/pagination";
import type { TaskView } from "../../src/types";
import { api, configureSample, env, waitForRun } from "../helpers";
import { parseJsonRecords } from "../../src/parsers/records";
import { HOLD_BYTES } from "../../src/upstream/staged-body";
import { hash32 } from "../../src/hash";
import { POSTS, socialSource, type UpstreamStats } from "../limits-pipelines";

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

registerPipeline(
  definePipeline({
    name: "paged-accounts",
    description: "the social API's account list, a thousand ids a page, 100 pages a batch",
    params: z.object({ tag: z.string() }).strict(),
    source: {
      name: "paged-accounts-api",
      baseUrl: `${SAMPLE_ORIGIN}/sample/social`,
      rateLimit: [{ requests: 500, per: "1s" }],
      concurrency: 4,
      timeoutMs: 5_000,
      retry: { attempts: 1 },
    },
    *plan(params) {
      yield { partition: `accounts/${params.tag}`, data: {} };
    },
    request: (_, source) => ({ url: `${source.baseUrl}/accounts?limit=1000&total=100000` }),
    paginate: cursorPagination({ cursorPath: "next_cursor", param: "cursor" }),
    parse: (body) => parseJsonRecords(body, "accounts").map((r) => ({ id: Number(r.id) })),
    rowSchema: z.object({ id: z.int() }),
    key: ["id"],
    maxAttempts: 20,
    retryPasses: 0,
    window: (p) => ({ name: p.tag, hive: `tag=${p.tag}` }),
  }),
);

registerPipeline(
  definePipeline({
    name: "many-accounts",
    description: "posts of a thousand accounts in one batch of items, every failed request failing its task",
    params: z.object({ tag: z.string() }).strict(),
    source: socialSource("many-accounts-api"),
    *plan(params) {
      yield { partition: `posts/${params.tag}`, data: {} };
    },
    items: (_, source) => Array.from({ length: 1000 }, (_, i) => ({ item: String(i + 1), request: { url: `${source.baseUrl}/accounts/${i + 1}/posts?limit=100` } })),
    paginate: cursorPagination({ cursorPath: "next_cursor", param: "cursor" }),
    ...POSTS,
    maxAttempts: 20,
    retryPasses: 0,
    window: (p) => ({ name: p.tag, hive: `tag=${p.tag}` }),
  }),
);

/** A seed whose first fault at `rate` falls on a request from `lo` to `hi` (the sample draws faults by arrival). */
function seedFaultingAt(rate: number, lo: number, hi: number) {
  const firstFault = (seed: number) => Array.from({ length: hi }, (_, i) => i + 1).find((i) => hash32(`${seed}|${i}`) / 0x1_0000_0000 < rate) ?? hi + 1;
  const seed = Array.from({ length: 1000 }, (_, s) => s).find((s) => firstFault(s) >= lo && firstFault(s) <= hi)!;
  return { seed, firstFault: firstFault(seed) };
}

/** Run `pipeline` with `params` to its end; the run, the upstream's counts and the ingest tasks. */
async function runToEnd(pipeline: string, params: Record<string, unknown>) {
  const res = await api("/v1/jobs", { method: "POST", json: { pipeline, params } });
  const run = await waitForRun(((await res.json()) as { id: string }).id, 120_000);
  const stats = (await (await api("/sample/edr/_stats")).json()) as UpstreamStats;
  const { tasks } = (await (await api(`/v1/jobs/${run.id}/tasks?phase=ingest`)).json()) as { tasks: TaskView[] };
  return { run, stats, tasks };
}

describe("paginated batches resume", () => {
  it("writes a raw of many pages through R2 and takes up what a failed delivery kept: every id once, no page fetched twice", async () => {
    // The sample upstream draws its faults by arrival: a seed whose first fault is page 70 to 98,
    // so the first delivery keeps more than HOLD_BYTES of pages (spooled to R2 and copied back).
    const RATE = 0.03;
    const { seed, firstFault } = seedFaultingAt(RATE, 70, 98);
    await configureSample({ faultRate: RATE, faultKinds: ["5xx"], trackRepeats: true, seed });
    const { run, stats, tasks } = await runToEnd("paged-accounts", { tag: `p${crypto.randomUUID().slice(0, 6)}` });
    expect(run.status).toBe("succeeded");
    expect(run.output?.rows).toBe(100_000);
    expect(stats.faults["5xx"]).toBeGreaterThan(0);
    expect(tasks[0]!.attempts).toBeGreaterThan(1); // a delivery failed part way, and the next took up its pages
    expect(stats.repeats).toBe(0);
    // The raw holds the 100 pages in order, every id once (the count ingest stored agrees), and
    // the pages kept by the first delivery were more than HOLD_BYTES.
    const raw = (await env.BUCKET.get(tasks[0]!.outputKey!))!;
    expect(raw.size).toBeGreaterThan(HOLD_BYTES);
    expect(raw.customMetadata?.rows).toBe("100000");
    const ids: number[] = [];
    let kept = 0;
    // Read with the runtime's own JSON.parse, not the streaming parser ingest and refine share.
    const doc = JSON.parse(await raw.text()) as { pages: string[] };
    expect(Object.keys(doc)).toEqual(["pages"]);
    for (const page of doc.pages) {
      if (ids.length < (firstFault - 1) * 1000) kept += JSON.stringify(page).length + 1;
      for (const r of JSON.parse(page).accounts as { id: string }[]) ids.push(Number(r.id));
    }
    expect(ids).toEqual(Array.from({ length: 100_000 }, (_, i) => i + 1));
    expect(kept).toBeGreaterThan(HOLD_BYTES);
    const left = await env.BUCKET.list({ prefix: `runs/${run.id}/` });
    expect(left.objects.map((o) => o.key).filter((k) => k.includes("/staged/") || k.includes("/partial/"))).toEqual([]);
  });

  it("writes a batch of a thousand items through R2 and takes up the items and dead list a failed delivery kept", async () => {
    // One page per account: the first fault falls after 700 to 950 items, more than HOLD_BYTES of them.
    const RATE = 0.002;
    const { seed, firstFault } = seedFaultingAt(RATE, 700, 950);
    await configureSample({ faultRate: RATE, faultKinds: ["5xx"], trackRepeats: true, seed });
    const { run, stats, tasks } = await runToEnd("many-accounts", { tag: `m${crypto.randomUUID().slice(0, 6)}` });
    const accounts = Array.from({ length: 1000 }, (_, i) => String(i + 1));
    const live = accounts.filter((a) => Number(a) % 97 !== 0);
    expect(run.status).toBe("partial"); // every 97th account is gone upstream
    expect(run.output?.rows).toBe(live.reduce((n, a) => n + postCount(a), 0));
    expect(stats.faults["5xx"]).toBeGreaterThan(0);
    expect(tasks[0]!.attempts).toBeGreaterThan(1);
    expect(stats.repeats).toBe(0);
    // Every live account once, with all its posts; the gone ones on the dead list, once each,
    // whether the delivery that kept them or the one that finished met them.
    const raw = (await env.BUCKET.get(tasks[0]!.outputKey!))!;
    expect(raw.size).toBeGreaterThan(HOLD_BYTES);
    expect(raw.customMetadata?.dead).toBe(String(accounts.length - live.length));
    const seen: string[] = [];
    let kept = 0;
    // Read with the runtime's own JSON.parse, not the streaming parser ingest and refine share.
    const doc = JSON.parse(await raw.text()) as { items: { item: string; pages: string[] }[]; dead: { item: string; error: { status?: number } }[] };
    expect(Object.keys(doc)).toEqual(["items", "dead"]);
    for (const entry of doc.items) {
      if (seen.length < firstFault - 1 - 10) kept += JSON.stringify(entry).length + 1;
      expect(entry.pages.flatMap((p) => JSON.parse(p).posts as unknown[])).toHaveLength(postCount(entry.item));
      seen.push(entry.item);
    }
    expect(seen.sort((a, b) => Number(a) - Number(b))).toEqual(live);
    const dead = doc.dead;
    expect(dead.map((d) => d.item).sort((a, b) => Number(a) - Number(b))).toEqual(accounts.filter((a) => Number(a) % 97 === 0));
    expect(new Set(dead.map((d) => d.error.status))).toEqual(new Set([410])); // the sample answers 410 Gone
    expect(kept).toBeGreaterThan(HOLD_BYTES);
    const left = await env.BUCKET.list({ prefix: `runs/${run.id}/` });
    expect(left.objects.map((o) => o.key).filter((k) => k.includes("/staged/") || k.includes("/partial/"))).toEqual([]);
  });

  it("retries tasks whose pages failed without fetching any page twice", async () => {
    // Four accounts with more than 10 posts: more than 5 pages each.
    const accounts = Array.from({ length: 96 }, (_, i) => String(i + 1))
      .filter((a) => postCount(a) > 10)
      .slice(0, 4);
    expect(accounts).toHaveLength(4);
    await configureSample({ faultRate: 0.15, faultKinds: ["5xx"], trackRepeats: true, seed: 3 });
    const { run, stats, tasks } = await runToEnd("resume-pages", { accounts, tag: `r${crypto.randomUUID().slice(0, 6)}` });
    expect(run.status).toBe("succeeded");
    expect(run.output?.rows).toBe(accounts.reduce((n, a) => n + postCount(a), 0));
    expect(stats.faults["5xx"]).toBeGreaterThan(0);
    expect(tasks.some((t) => t.attempts > 1)).toBe(true); // some task failed part way and was retried
    expect(stats.repeats).toBe(0);
  });
});
