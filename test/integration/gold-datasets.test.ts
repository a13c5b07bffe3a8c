// Gold datasets (issue 18, items 1–2, first step): a group-by with a time bucket and exact
// aggregates, computed where the rows flow — each silver task keeps its batch's group states, each
// merge task of a three-level tree combines them — and written, published and served beside the
// run's output. Checked against the same aggregates computed here, row by row, over the run's
// silver output as the API serves it.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { Row } from "../../src/arrow/columns";
import { definePipeline } from "../../src/pipelines/define";
import { DISTINCT_EXACT, mergeStates, statesOf, goldRows, type GoldDataset } from "../../src/gold/aggregates";
import { HLL_ERROR } from "../../src/gold/hll";
import { parquetMetadata } from "hyparquet";
import { comparable, readBoth } from "../independent-reader";
import { SAMPLE_ORIGIN } from "../../src/upstream/fetch";
import { api, configureSample, env, registerPipeline, sampleStats, submit, waitForRun } from "../helpers";
import { accountsFrom, POSTS } from "../limits-pipelines";

/** Every exact aggregate, over likes and posts. */
const FEATURES: GoldDataset["aggregates"] = {
  posts: { fn: "count" },
  likes: { fn: "sum", column: "likes" },
  mean_likes: { fn: "mean", column: "likes" },
  min_likes: { fn: "min", column: "likes" },
  max_likes: { fn: "max", column: "likes" },
  sd_likes: { fn: "stddev", column: "likes" },
  first_post: { fn: "first", column: "post_id", by: "created_at" },
  last_at: { fn: "last", column: "created_at", by: "created_at" },
};

const pipeline = definePipeline({
  name: "gold-posts",
  description: "posts per account, with monthly features per account and over all, and a yearly total",
  params: z.object({ accounts: z.array(z.string()).min(1), tag: z.string() }).strict(),
  source: { name: "gold-posts-api", baseUrl: `${SAMPLE_ORIGIN}/sample/social`, rateLimit: [{ requests: 1000, per: "1s" }], concurrency: 16, timeoutMs: 10_000 },
  *plan(params) {
    for (let i = 0; i < params.accounts.length; i += 3)
      yield { partition: `posts/${params.tag}/from=${params.accounts[i]}`, data: { accounts: params.accounts.slice(i, i + 3) } };
  },
  items: (batch, source) => (batch.data.accounts as string[]).map((id) => ({ item: id, request: { url: `${source.baseUrl}/accounts/${id}/posts?limit=100` } })),
  ...POSTS,
  window: (p) => ({ name: p.tag, hive: `tag=${p.tag}` }),
  mergeFanIn: 3,
  gold: [
    {
      name: "monthly",
      groupBy: ["account_id"],
      bucket: { column: "created_at", unit: "month", as: "month" },
      aggregates: FEATURES,
    },
    // Every account in one group a month: groups that span batches, combined at every merge level.
    {
      name: "all-monthly",
      groupBy: [],
      bucket: { column: "created_at", unit: "month", as: "month" },
      aggregates: {
        ...FEATURES,
        accounts: { fn: "distinct", column: "account_id" },
        // A user aggregate: the spread of likes, as init/add/merge/finish over a JSON state.
        likes_range: {
          fn: "custom",
          type: "float64",
          init: () => null,
          add: (state, row) => {
            const v = Number(row.likes);
            const [lo, hi] = (state as [number, number] | null) ?? [v, v];
            return [Math.min(lo, v), Math.max(hi, v)];
          },
          merge: (a, b) =>
            a === null ? b : b === null ? a : [Math.min((a as number[])[0]!, (b as number[])[0]!), Math.max((a as number[])[1]!, (b as number[])[1]!)],
          finish: (state) => (state === null ? null : (state as number[])[1]! - (state as number[])[0]!),
        },
      },
    },
    // The same groups split into three parts by a hash of their key, each combined on its own up the tree.
    {
      name: "monthly-parts",
      groupBy: ["account_id"],
      bucket: { column: "created_at", unit: "month", as: "month" },
      aggregates: FEATURES,
      partitions: 3,
    },
    {
      name: "yearly",
      groupBy: [],
      bucket: { column: "created_at", unit: "year" },
      aggregates: { posts: { fn: "count" }, var_likes: { fn: "variance", column: "likes" } },
    },
  ],
});
registerPipeline(pipeline);

const download = async (id: string, dataset?: string) => {
  const res = await api(`/v1/jobs/${id}/output${dataset ? `?dataset=${dataset}` : ""}`);
  expect(res.status).toBe(200);
  return readBoth(new Uint8Array(await res.arrayBuffer()));
};

const month = (d: Date) => Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);

/** The aggregates computed directly, one group at a time, from the silver rows; `perAccount`: grouped by account too. */
function expected(rows: Row[], perAccount: boolean) {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const key = `${perAccount ? String(r.account_id) : ""}|${month(r.created_at as Date)}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const likes = g.map((r) => Number(r.likes));
    const mean = likes.reduce((a, b) => a + b, 0) / likes.length;
    const byTime = [...g].sort((a, b) => (a.created_at as Date).getTime() - (b.created_at as Date).getTime());
    return {
      ...(perAccount ? {} : { accounts: new Set(g.map((r) => r.account_id)).size, likes_range: Math.max(...likes) - Math.min(...likes) }),
      ...(perAccount ? { account_id: g[0]!.account_id } : {}),
      month: new Date(month(g[0]!.created_at as Date)).toISOString(),
      posts: g.length,
      likes: likes.reduce((a, b) => a + b, 0),
      mean_likes: mean,
      min_likes: Math.min(...likes),
      max_likes: Math.max(...likes),
      sd_likes: likes.length < 2 ? null : Math.sqrt(likes.reduce((a, b) => a + (b - mean) ** 2, 0) / (likes.length - 1)),
      first_post: byTime[0]!.post_id,
      last_at: (byTime.at(-1)!.created_at as Date).toISOString(),
    };
  });
}

const close = (a: unknown, b: unknown) => (typeof a === "number" && typeof b === "number" ? Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)) : a === b);

describe("gold datasets", () => {
  it("computes each group's aggregates through the merge tree, equal to computing them from the silver rows", async () => {
    await configureSample({});
    const accounts = accountsFrom(3000, 30);
    const run = await waitForRun(await submit("gold-posts", { accounts, tag: "g1" }), 120_000);
    expect(run.status).toBe("succeeded");
    expect(run.batches).toBe(10); // 10 silver files → 4 → 2 → 1 merges with a fan-in of 3
    const silver = await download(run.id);
    for (const [dataset, perAccount] of [
      ["monthly", true],
      ["all-monthly", false],
      ["monthly-parts", true],
    ] as const) {
      const got = (await download(run.id, dataset)).map((r): Row => ({
        ...r,
        month: (r.month as Date).toISOString(),
        last_at: (r.last_at as Date).toISOString(),
      }));
      const want = expected(silver, perAccount);
      expect(got.length, dataset).toBe(want.length);
      expect(got.reduce((n, r) => n + Number(r.posts), 0)).toBe(silver.length);
      const group = (r: Row) => `${perAccount ? String(r.account_id) : ""}|${String(r.month)}`;
      const byGroup = new Map(got.map((r) => [group(r), r]));
      for (const w of want) {
        const row = byGroup.get(group(w));
        expect(row, `${dataset} group ${group(w)}`).toBeDefined();
        for (const [k, v] of Object.entries(w)) expect(close(row![k], v), `${dataset} ${k} of ${group(w)}: ${String(row![k])} vs ${String(v)}`).toBe(true);
      }
    }

    // The partitioned dataset: the same rows, one row group a part, each part's groups sorted.
    const res = await api(`/v1/jobs/${run.id}/output?dataset=monthly-parts`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const meta = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    expect(meta.row_groups.length).toBe(3);
    expect(comparable(await readBoth(bytes))).toEqual(comparable(await download(run.id, "monthly")));

    const yearly = await download(run.id, "yearly");
    const likes = silver.map((r) => Number(r.likes));
    const mean = likes.reduce((a, b) => a + b, 0) / likes.length;
    expect(yearly).toHaveLength(1);
    expect(Number(yearly[0]!.posts)).toBe(silver.length);
    expect((yearly[0]!.created_at as Date).toISOString()).toBe("2024-01-01T00:00:00.000Z");
    expect(close(yearly[0]!.var_likes, likes.reduce((a, b) => a + (b - mean) ** 2, 0) / (likes.length - 1))).toBe(true);
  });

  it("rebuilds a dataset from silver, without a download, when a file's states are missing or from another definition", async () => {
    await configureSample({});
    const run = await waitForRun(await submit("gold-posts", { accounts: accountsFrom(3200, 9), tag: "g3" }));
    expect(run.status).toBe("succeeded");
    const before = comparable(await download(run.id, "monthly"));
    const mine = (await env.BUCKET.list({ prefix: "silver/dataset=gold-posts/" })).objects
      .map((o) => o.key)
      .filter((k) => k.endsWith(".gold-states.json") && !k.includes("/_merge/") && k.includes(`version=${run.version!.replace(/_v(\d+)$/, "_staged_v$1")}`));
    expect(mine).toHaveLength(3);
    // One written before the dataset existed (gone), one by another definition of it.
    await env.BUCKET.delete(mine[0]!);
    const stale = (await (await env.BUCKET.get(mine[1]!))!.json()) as Record<string, { fp: string }>;
    for (const d of Object.values(stale)) d.fp = "an-older-definition";
    await env.BUCKET.put(mine[1]!, JSON.stringify(stale));
    // A partitioned dataset's parts: one file's gone (its index with them), another's incomplete.
    const parts = (await env.BUCKET.list({ prefix: mine[2]!.replace(/\.json$/, "/monthly-parts-") })).objects.map((o) => o.key);
    expect(parts.filter((k) => k.endsWith("/index.json"))).toHaveLength(1);
    await env.BUCKET.delete(parts.filter((k) => k.endsWith("/index.json") || k.endsWith("/p1.json")));
    const before3 = comparable(await download(run.id, "monthly-parts"));
    await configureSample({});
    const res = await api(`/v1/jobs/${run.id}/phases/aggregate/rerun`, { method: "POST" });
    expect(res.status).toBe(202);
    const again = await waitForRun(run.id);
    expect(again.status).toBe("succeeded");
    expect(again.version).not.toBe(run.version);
    expect(comparable(await download(run.id, "monthly"))).toEqual(before);
    expect(comparable(await download(run.id, "monthly-parts"))).toEqual(before3);
    expect((await sampleStats()).requests).toBe(0);
  });

  it("serves only the datasets it declares", async () => {
    await configureSample({});
    const run = await waitForRun(await submit("gold-posts", { accounts: accountsFrom(3100, 4), tag: "g2" }));
    const res = await api(`/v1/jobs/${run.id}/output?dataset=weekly`);
    expect(res.status).toBe(404);
    expect((await res.json<{ error: { details: { known: string[] } } }>()).error.details.known).toEqual(["monthly", "all-monthly", "monthly-parts", "yearly"]);
  });

  it("counts distinct values exactly up to the bound, then within the sketch's error, the same in any merge order", () => {
    const d: GoldDataset = { name: "d", groupBy: [], aggregates: { users: { fn: "distinct", column: "user" } } };
    const columns = [{ name: "user", type: "string" as const, nullable: false }];
    const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ user: `u-${from + i}` }));
    const count = (states: ReturnType<typeof statesOf>) => Number(goldRows(d, columns, states)[0]!.users);
    // Exact: 1,000 distinct (the bound) in 4 batches that overlap.
    const exact = [0, 240, 480, 720].map((from) => statesOf(d, rows(from, 280))); // u-0 … u-999, overlapping
    expect(count(exact.reduce((a, b) => mergeStates(d, a, b), {}))).toBe(DISTINCT_EXACT);
    // Past the bound: 200,000 distinct in 20 batches, merged as a tree and as a chain, stored as JSON between.
    const batches = () =>
      Array.from({ length: 20 }, (_, i) => JSON.parse(JSON.stringify(statesOf(d, rows(i * 10_000, 10_000)))) as ReturnType<typeof statesOf>);
    const chain = batches().reduce((a, b) => mergeStates(d, a, b), {});
    let level = batches();
    while (level.length > 1)
      level = Array.from({ length: Math.ceil(level.length / 3) }, (_, i) =>
        level.slice(i * 3, i * 3 + 3).reduce((a, b) => mergeStates(d, JSON.parse(JSON.stringify(a)), b), {}),
      );
    expect(count(level[0]!)).toBe(count(chain));
    expect(Math.abs(count(chain) - 200_000) / 200_000).toBeLessThan(3 * HLL_ERROR);
  });

  it("refuses a dataset over a column silver does not have, or a bucket that is not a time", () => {
    const base = { ...POSTS, name: "gold-bad", description: "", params: z.object({}), source: pipeline.source, plan: () => [] };
    expect(() => definePipeline({ ...base, gold: [{ name: "x", groupBy: ["nope"], aggregates: { n: { fn: "count" } } }] })).toThrow(
      "pipeline gold-bad, gold dataset x: groupBy column nope is not a silver column",
    );
    expect(() => definePipeline({ ...base, gold: [{ name: "x", groupBy: [], bucket: { column: "likes", unit: "day" }, aggregates: {} }] })).toThrow(
      "bucket column likes is not a timestamp column",
    );
    for (const partitions of [0, 1.5, 257])
      expect(() => definePipeline({ ...base, gold: [{ name: "x", groupBy: [], aggregates: { n: { fn: "count" } }, partitions }] })).toThrow(
        `partitions must be a whole number from 1 to 256, not ${partitions}`,
      );
    // A merge task's R2 calls (a read per input and a write, a part each) stay within a Worker's subrequests.
    expect(() => definePipeline({ ...base, mergeFanIn: 64, gold: [{ name: "x", groupBy: [], aggregates: { n: { fn: "count" } }, partitions: 256 }] })).toThrow(
      "256 partitions with a merge fan-in of 64 make 16640 R2 calls a merge task",
    );
    expect(() =>
      definePipeline({ ...base, mergeFanIn: 16, gold: [{ name: "x", groupBy: [], aggregates: { n: { fn: "count" } }, partitions: 256 }] }),
    ).not.toThrow();
  });
});
