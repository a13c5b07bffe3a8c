// sample-posts: every post of a list of social accounts, 100 accounts per batch, each account's
// posts behind cursor pagination. The list is an R2 object (one id per line) read as a stream,
// or given inline; an id listed twice is fetched once. Deleted accounts (410) go to the dead list,
// not to retries.
import { z } from "zod";
import { fnv1a64 } from "../hash";
import { parseJsonRecords } from "../parsers/records";
import { check } from "../quality/checks";
import { linesOf } from "../r2/lines";
import { SAMPLE_ORIGIN } from "../upstream/fetch";
import { cursorPagination } from "../upstream/pagination";
import { definePipeline, type PlannedBatch } from "./define";

const accountId = z.string().regex(/^[0-9]{1,9}$/, "account ids are 1-9 digits");

export const samplePostsParams = z
  .object({
    /** An R2 object under inputs/ with one account id per line. */
    accountsKey: z
      .string()
      .regex(/^inputs\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, "accountsKey is an R2 key under inputs/")
      .refine((k) => !k.split("/").includes(".."), "no .. in accountsKey")
      .optional(),
    /** Or the ids themselves. */
    accounts: z.array(accountId).min(1).max(10_000).optional(),
    batchSize: z.number().int().min(1).max(1000).default(100),
  })
  .strict()
  .refine((p) => (p.accountsKey === undefined) !== (p.accounts === undefined), { message: "give accountsKey or accounts", path: ["accounts"] });

/** `size` ids a batch, each id once (a repeat in the list is skipped and counted). */
async function* batchesOf(ids: AsyncIterable<string>, size: number, firstSeen: (id: string) => boolean): AsyncGenerator<PlannedBatch> {
  let group: string[] = [];
  const emit = (): PlannedBatch => {
    const batch = {
      partition: `posts/accounts=${group[0]}-${group[group.length - 1]}-n${group.length}-${fnv1a64(group.join(",")).slice(0, 8)}`,
      data: { accounts: group },
    };
    group = [];
    return batch;
  };
  for await (const id of ids) {
    if (!/^[0-9]{1,9}$/.test(id)) throw new Error(`not an account id: ${JSON.stringify(id.slice(0, 40))}`);
    if (!firstSeen(id)) continue;
    group.push(id);
    if (group.length === size) yield emit();
  }
  if (group.length > 0) yield emit();
}

export const samplePosts = definePipeline({
  name: "sample-posts",
  description: "Every post of a list of accounts from the sample social API (cursor pagination, deleted accounts dead-listed).",
  params: samplePostsParams,
  source: { name: "sample-social", baseUrl: `${SAMPLE_ORIGIN}/sample/social`, rateLimit: [{ requests: 1000, per: "1s" }], concurrency: 50, timeoutMs: 30_000 },
  planStream(params, ctx) {
    const ids = params.accountsKey
      ? linesOf(ctx.bucket, params.accountsKey)
      : (async function* () {
          yield* params.accounts!;
        })();
    return batchesOf(ids, params.batchSize, ctx.firstSeen);
  },
  items: (batch, source) => (batch.data.accounts as string[]).map((id) => ({ item: id, request: { url: `${source.baseUrl}/accounts/${id}/posts?limit=100` } })),
  paginate: cursorPagination({ cursorPath: "next_cursor", param: "cursor" }),
  parse: (body) => parseJsonRecords(body, "posts").map((r) => ({ ...r, created_at: new Date(String(r.created_at)) })),
  rowSchema: z.object({ account_id: z.string(), post_id: z.string(), created_at: z.date(), text: z.string(), likes: z.int() }),
  key: ["account_id", "post_id"],
  quality: [check.schema()],
  window: (params) => {
    const id = fnv1a64(params.accountsKey ?? params.accounts!.join(",")).slice(0, 12);
    return { name: `accounts-${id}`, hive: `accounts=${id}` };
  },
  maxBatches: 40_000,
  mergeFanIn: 32,
});
