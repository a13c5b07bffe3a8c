// Pipelines for tests and the limits benchmark: posts per account from the sample social API,
// each on a source of its own (one limit per source per deployment), and the posts' row shape.
import { z } from "zod";
import { registerPipeline } from "./helpers";
import { definePipeline, type PlannedBatch, type RateLimit, type Source } from "../src/pipelines/define";
import { parseJsonRecords } from "../src/parsers/records";
import { isDeletedAccount, postCount } from "../src/sample/social";
import { SAMPLE_ORIGIN } from "../src/upstream/fetch";
import { cursorPagination } from "../src/upstream/pagination";

/** A page of the sample social API's posts → rows, their schema and key, for a test's own pipeline. */
export const POSTS = {
  parse: (body: string) => parseJsonRecords(body, "posts").map((r) => ({ ...r, created_at: new Date(String(r.created_at)) })),
  rowSchema: z.object({ account_id: z.string(), post_id: z.string(), created_at: z.date(), text: z.string(), likes: z.int() }),
  key: ["account_id", "post_id"],
};

/** The sample social API as a test pipeline's own source: 1,000 requests a second, one attempt a page (failures are the test's). */
export const socialSource = (name: string, concurrency = 4): Source => ({
  name,
  baseUrl: `${SAMPLE_ORIGIN}/sample/social`,
  rateLimit: [{ requests: 1000, per: "1s" }],
  concurrency,
  timeoutMs: 10_000,
  retry: { attempts: 1 },
});

/** Each account of a batch (`data.accounts`) as one item: its posts, a page of 100. */
export const accountItems = (batch: PlannedBatch, source: Source) =>
  (batch.data.accounts as string[]).map((id) => ({ item: id, request: { url: `${source.baseUrl}/accounts/${id}/posts?limit=100` } }));

/** One account's posts (`data.account`) as the batch's one request. */
export const accountRequest = (batch: PlannedBatch, source: Source) => ({ url: `${source.baseUrl}/accounts/${String(batch.data.account)}/posts?limit=100` });

export interface UpstreamStats {
  requests: number;
  violations: number;
  repeats: number;
  byStatus: Record<string, number>;
  faults: Record<string, number>;
  other: { sent: number; refused: number };
  firstAt: number | null;
  lastAt: number | null;
}

/** A posts pipeline on its own source (one limit per source), `size` accounts a batch, `pageSize` posts a page. */
export function postsPipeline(
  name: string,
  rateLimit: RateLimit,
  options: { concurrency?: number; maxAttempts?: number; pageSize?: number; size?: number } = {},
) {
  const pipeline = definePipeline({
    name,
    description: `posts per account, on a source limited to ${JSON.stringify(rateLimit)}`,
    params: z.object({ accounts: z.array(z.string()).min(1), tag: z.string() }).strict(),
    source: { name: `${name}-api`, baseUrl: `${SAMPLE_ORIGIN}/sample/social`, rateLimit, concurrency: options.concurrency ?? 8, timeoutMs: 10_000 },
    *plan(params) {
      const size = options.size ?? 10;
      for (let i = 0; i < params.accounts.length; i += size) {
        const accounts = params.accounts.slice(i, i + size);
        yield { partition: `posts/${params.tag}/from=${accounts[0]}`, data: { accounts } };
      }
    },
    items: (batch, source) =>
      (batch.data.accounts as string[]).map((id) => ({
        item: id,
        request: { url: `${source.baseUrl}/accounts/${id}/posts?limit=${options.pageSize ?? 100}` },
      })),
    paginate: cursorPagination({ cursorPath: "next_cursor", param: "cursor" }),
    ...POSTS,
    maxAttempts: options.maxAttempts ?? 5,
    retryPasses: 0,
    window: (p) => ({ name: p.tag, hive: `tag=${p.tag}` }),
  });
  registerPipeline(pipeline);
  return pipeline;
}

/** `n` live accounts from `first` on (every 97th id is a deleted account). */
export function accountsFrom(first: number, n: number): string[] {
  const ids: string[] = [];
  for (let id = first; ids.length < n; id++) if (!isDeletedAccount(String(id), { deletedAccounts: [] })) ids.push(String(id));
  return ids;
}
export const postsOf = (accounts: string[]) => accounts.reduce((n, a) => n + postCount(a), 0);
