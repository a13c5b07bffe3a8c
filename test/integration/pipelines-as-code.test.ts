// A pipeline defined here, in a test file, runs end to end against the sample social API:
// cursor pagination, a secret auth header, deleted accounts to the dead list. Plus the
// built-in parsers and pagination helpers on real-shaped bodies.
import { runInDurableObject } from "cloudflare:test";
import { readBoth } from "../independent-reader";
import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { columnsFromZod } from "../../src/arrow/columns";
import { parseCsv, parseJsonRecords, parseNdjson } from "../../src/parsers/records";
import { registerPipeline } from "../helpers";
import { definePipeline } from "../../src/pipelines/define";
import { check } from "../../src/quality/checks";
import { postCount } from "../../src/sample/social";
import { SAMPLE_ORIGIN } from "../../src/upstream/fetch";
import { cursorPagination, linkPagination, offsetPagination } from "../../src/upstream/pagination";
import { api, configureSample, env, sampleStats, waitForRun } from "../helpers";

const SECRET = "s3cr3t-social-token-7f2a";

const testPosts = definePipeline({
  name: "test-posts",
  description: "Posts per account from the sample social API (a pipeline defined in a test).",
  params: z.object({ accounts: z.array(z.string().regex(/^[0-9]+$/)).min(1) }).strict(),
  source: {
    name: "test-social",
    baseUrl: `${SAMPLE_ORIGIN}/sample/social`,
    rateLimit: [{ requests: 200, per: "1s" }],
    concurrency: 8,
    timeoutMs: 10_000,
    auth: { header: "authorization", scheme: "Bearer", secret: "SOCIAL_API_TOKEN" },
  },
  *plan(params) {
    for (const account of params.accounts) yield { partition: `posts/account=${account}`, data: { account } };
  },
  request: (batch, source) => ({ url: `${source.baseUrl}/accounts/${String(batch.data.account)}/posts?limit=4` }),
  paginate: cursorPagination({ cursorPath: "next_cursor", param: "cursor" }),
  parse: (body) => parseJsonRecords(body, "posts").map((r) => ({ ...r, created_at: new Date(String(r.created_at)) })),
  rowSchema: z.object({ account_id: z.string(), post_id: z.string(), created_at: z.date(), text: z.string(), likes: z.int() }),
  key: ["account_id", "post_id"],
  quality: [check.schema(), check.minRows(1)],
  window: () => ({ name: "all", hive: "window=all" }),
  toleratedFailurePercent: 50,
  maxAttempts: 2,
});
registerPipeline(testPosts);

async function allR2Text(): Promise<string[]> {
  const texts: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.BUCKET.list({ cursor, limit: 1000 });
    for (const o of page.objects) texts.push(`${o.key}\n${await (await env.BUCKET.get(o.key))!.text()}`);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return texts;
}

describe("a pipeline defined in a test file", () => {
  it("runs end to end: every page fetched, deleted accounts dead, the secret nowhere", async () => {
    const logged: string[] = [];
    for (const method of ["log", "warn", "error", "info", "debug"] as const) {
      const original = console[method].bind(console);
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        logged.push(args.map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : typeof a === "string" ? a : JSON.stringify(a))).join(" "));
        original(...args);
      });
    }
    await configureSample({ socialToken: SECRET });
    const accounts = ["1", "2", "3", "5", "8", "97", "194"];
    const res = await api("/v1/jobs", { method: "POST", json: { pipeline: "test-posts", params: { accounts } } });
    expect(res.status).toBe(202);
    const run = await waitForRun((await res.json<{ id: string }>()).id);
    expect(run.status).toBe("partial");
    const live = accounts.filter((a) => Number(a) % 97 !== 0);
    const expected = live.reduce((n, a) => n + postCount(a), 0);
    expect(run.output?.rows).toBe(expected);
    const pages = live.reduce((n, a) => n + Math.max(1, Math.ceil(postCount(a) / 4)), 0);
    expect((await sampleStats()).requests).toBe(pages + 2);
    const dead = await (await api(`/v1/jobs/${run.id}/tasks?status=dead`)).json<{ tasks: { id: string; error: { status: number } }[] }>();
    expect(dead.tasks.map((t) => t.error.status)).toEqual([410, 410]);

    const rows = await readBoth(new Uint8Array(await (await api(`/v1/jobs/${run.id}/output`)).arrayBuffer()));
    expect(new Set(rows.map((r) => r.post_id)).size).toBe(expected);
    expect(rows.find((r) => r.post_id === "2-0")).toMatchObject({ account_id: "2", text: "post 0 of account 2" });

    const texts = await allR2Text();
    expect(texts.length).toBeGreaterThan(10);
    expect(texts.filter((t) => t.includes(SECRET)).map((t) => t.split("\n")[0])).toEqual([]);
    expect(logged.filter((l) => l.includes(SECRET))).toEqual([]);
    vi.restoreAllMocks();
  });

  it("a wrong token is a permanent failure whose error does not carry the token", async () => {
    await configureSample({ socialToken: "another-token" });
    const res = await api("/v1/jobs", { method: "POST", json: { pipeline: "test-posts", params: { accounts: ["11"] } } });
    const run = await waitForRun((await res.json<{ id: string }>()).id);
    expect(run.status).toBe("failed");
    const tasks = await (await api(`/v1/jobs/${run.id}/tasks`)).json<{ tasks: { status: string; error: { status: number; message: string } }[] }>();
    expect(tasks.tasks[0]).toMatchObject({ status: "dead", error: { status: 401 } });
    expect(JSON.stringify(tasks)).not.toContain(SECRET);
  });
});

describe("built-in parsers", () => {
  it("JSON records at a path", () => {
    expect(parseJsonRecords('{"data":{"items":[{"a":1},{"a":2}]}}', "data.items")).toEqual([{ a: 1 }, { a: 2 }]);
    expect(parseJsonRecords('[{"a":1}]')).toEqual([{ a: 1 }]);
    expect(() => parseJsonRecords('{"data":{}}', "data.items")).toThrow(/not an array/);
    expect(() => parseJsonRecords('{"data":{"items":[1]}}', "data.items")).toThrow(/record 0/);
  });

  it("NDJSON, blank lines skipped, a truncated line refused", () => {
    expect(parseNdjson('{"a":1}\n\n{"a":2}\n')).toEqual([{ a: 1 }, { a: 2 }]);
    expect(() => parseNdjson('{"a":1}\n{"a":')).toThrow(SyntaxError);
  });

  it("CSV with a header, quoted fields, typed by the schema", () => {
    const columns = columnsFromZod(z.object({ id: z.int(), name: z.string(), at: z.date(), ok: z.boolean(), v: z.number().nullable() }));
    const body = 'id,name,at,ok,v\r\n1,"Smith, ""J""",2024-01-01T00:00:00Z,true,1.5\r\n2,"two\nlines",2024-01-02T00:00:00Z,0,\r\n';
    expect(parseCsv(body, columns)).toEqual([
      { id: 1, name: 'Smith, "J"', at: new Date("2024-01-01T00:00:00Z"), ok: true, v: 1.5 },
      { id: 2, name: "two\nlines", at: new Date("2024-01-02T00:00:00Z"), ok: false, v: null },
    ]);
    expect(() => parseCsv("a,b\n1\n", columns)).toThrow(/1 fields/);
    expect(() => parseCsv('a\n"open', columns)).toThrow(/unterminated/);
  });
});

describe("pagination", () => {
  const page = (url: string, body: unknown, headers: Record<string, string> = {}) => ({ url, body: JSON.stringify(body), headers: new Headers(headers) });

  it("follows a cursor until it is empty", () => {
    const next = cursorPagination({ cursorPath: "meta.next", param: "cursor" });
    expect(next(page("https://x/posts?limit=2", { meta: { next: "abc" } }))).toBe("https://x/posts?limit=2&cursor=abc");
    expect(next(page("https://x/posts?cursor=abc", { meta: { next: null } }))).toBeNull();
  });

  it("steps an offset until a short page", () => {
    const next = offsetPagination({ offsetParam: "offset", limitParam: "limit", limit: 2, recordsPath: "items" });
    expect(next(page("https://x/items", { items: [1, 2] }))).toBe("https://x/items?offset=2&limit=2");
    expect(next(page("https://x/items?offset=2&limit=2", { items: [3] }))).toBeNull();
  });

  it("follows a Link header's rel=next", () => {
    const next = linkPagination();
    expect(next(page("https://x/a?page=1", [], { link: '<https://x/a?page=2>; rel="next", <https://x/a?page=9>; rel="last"' }))).toBe("https://x/a?page=2");
    expect(next(page("https://x/a?page=9", [], { link: '<https://x/a?page=1>; rel="first"' }))).toBeNull();
    expect(next(page("https://x/a", [], { link: "</a?page=3>; rel=next" }))).toBe("https://x/a?page=3");
  });
});

describe("sample-posts", () => {
  it("keeps a long inline id list out of every task: silver tasks read the run's params from R2 once", async () => {
    await configureSample({});
    const accounts = Array.from({ length: 400 }, (_, i) => String(100_000 + i));
    const res = await api("/v1/jobs", { method: "POST", json: { pipeline: "sample-posts", params: { accounts, batchSize: 10 } } });
    expect(res.status).toBe(202);
    const run = await waitForRun((await res.json<{ id: string }>()).id, 110_000);
    expect(run.status).toBe("partial"); // ids divisible by 97 are gone upstream
    expect(run.output?.rows).toBe(accounts.filter((id) => Number(id) % 97 !== 0).reduce((n, id) => n + postCount(id), 0));
    const stub = env.RUN_COORDINATOR.get(env.RUN_COORDINATOR.idFromName(run.id));
    const sizes = await runInDurableObject(stub, (_instance, state) => ({
      silverInput: Number(state.storage.sql.exec("SELECT max(length(input)) AS n FROM tasks WHERE phase = 'silver'").one().n),
      paramsKeys: state.storage.sql
        .exec("SELECT DISTINCT json_extract(input, '$.paramsKey') AS k FROM tasks WHERE phase = 'silver'")
        .toArray()
        .map((r) => String(r.k)),
    }));
    // 400 ids inline would be ~3.6 KB in each of the 40 silver inputs (and queue messages).
    expect(sizes.silverInput).toBeLessThan(400);
    expect(sizes.paramsKeys).toHaveLength(1);
    const stored = await (await env.BUCKET.get(sizes.paramsKeys[0]!))!.json<{ accounts: string[] }>();
    expect(stored.accounts).toEqual(accounts);
  });

  it("streams 1,000 account ids from R2 into batches of 100; deleted accounts go to the dead list, not to retries", async () => {
    await configureSample({});
    await env.BUCKET.put("inputs/accounts-1000.txt", Array.from({ length: 1000 }, (_, i) => String(i + 1)).join("\n") + "\n");
    const res = await api("/v1/jobs", { method: "POST", json: { pipeline: "sample-posts", params: { accountsKey: "inputs/accounts-1000.txt" } } });
    expect(res.status).toBe(202);
    const run = await waitForRun((await res.json<{ id: string }>()).id, 110_000);
    expect(run.batches).toBe(10);
    expect(run.status).toBe("partial");
    expect(run.deadItems).toBe(10);
    expect(run.reason).toBe("10 items gone upstream (dead list)");
    const live = Array.from({ length: 1000 }, (_, i) => String(i + 1)).filter((id) => Number(id) % 97 !== 0);
    expect(run.output?.rows).toBe(live.reduce((n, id) => n + postCount(id), 0));
    expect((await sampleStats()).requests).toBe(1000);
    const tasks = await (await api(`/v1/jobs/${run.id}/tasks?phase=ingest`)).json<{ tasks: { group: string; attempts: number }[] }>();
    expect(tasks.tasks.every((t) => t.group === "initial" && t.attempts === 1)).toBe(true);
    const manifest = await (await api(`/v1/jobs/${run.id}/manifest`)).json<{ deadItems: { item: string; error: { status: number } }[] }>();
    expect(manifest.deadItems.map((d) => d.item).sort((a, b) => Number(a) - Number(b))).toEqual([
      "97",
      "194",
      "291",
      "388",
      "485",
      "582",
      "679",
      "776",
      "873",
      "970",
    ]);
    expect(manifest.deadItems.every((d) => d.error.status === 410)).toBe(true);
  });

  it("refuses an accounts key outside inputs/ and a plan with no ids", async () => {
    for (const accountsKey of ["runs/x/manifest.json", "inputs/../runs/x", "/inputs/a"]) {
      const res = await api("/v1/jobs", { method: "POST", json: { pipeline: "sample-posts", params: { accountsKey } } });
      expect(res.status).toBe(400);
    }
    await env.BUCKET.put("inputs/empty.txt", "\n");
    const res = await api("/v1/jobs", { method: "POST", json: { pipeline: "sample-posts", params: { accountsKey: "inputs/empty.txt" } } });
    const run = await waitForRun((await res.json<{ id: string }>()).id);
    expect(run).toMatchObject({ status: "failed", reason: "the params plan no batches" });
  });
});
