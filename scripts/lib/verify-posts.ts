// Is a sample-posts output exact? The output, read by DuckDB, against the sample upstream's own
// posts of each account, fetched over HTTP page by page (faults and limits off: call this after
// the run, with the sample config reset). Accounts the upstream says are gone have no rows.
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "./client.ts";
import { literal, type Duck } from "./duckdb.ts";
import type { Exactness } from "./verify-weather.ts";

interface Page {
  posts: { account_id: string; post_id: string; created_at: string; text: string; likes: number }[];
  next_cursor: string | null;
}

async function upstreamPosts(baseUrl: string, accounts: string[]): Promise<string[]> {
  const lines: string[] = [];
  for (const id of accounts) {
    for (let cursor: string | null = "0"; cursor !== null;) {
      const res = await fetch(`${baseUrl}/sample/social/accounts/${id}/posts?limit=100&cursor=${cursor}`);
      if (res.status === 410) break;
      if (!res.ok) throw new Error(`upstream answered ${res.status} for account ${id}`);
      const page = (await res.json()) as Page;
      for (const p of page.posts) lines.push(JSON.stringify(p));
      cursor = page.next_cursor;
    }
  }
  return lines;
}

export async function verifyPostsOutput(api: Client, baseUrl: string, runId: string, accounts: string[], duck: Duck, dir: string): Promise<Exactness> {
  const res = await api.call(`/v1/jobs/${encodeURIComponent(runId)}/output`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const hashMatches = createHash("sha256").update(bytes).digest("hex") === res.headers.get("x-sluice-sha256");
  const output = join(dir, `${runId}.parquet`);
  const expected = join(dir, `${runId}-upstream.ndjson`);
  writeFileSync(output, bytes);
  writeFileSync(expected, (await upstreamPosts(baseUrl, accounts)).join("\n") + "\n");
  const columns = "{account_id: 'VARCHAR', post_id: 'VARCHAR', created_at: 'VARCHAR', text: 'VARCHAR', likes: 'BIGINT'}";
  const got = `read_parquet(${literal(output)})`;
  const want = `(SELECT * REPLACE (created_at::TIMESTAMPTZ AS created_at) FROM read_json(${literal(expected)}, format = 'newline_delimited', columns = ${columns}))`;
  const [r] = await duck.all<Record<string, number>>(`
    SELECT
      (SELECT count(*) FROM ${got}) AS rows,
      (SELECT count(*) FROM ${want}) AS expected,
      (SELECT count(*) - count(DISTINCT (account_id, post_id)) FROM ${got}) AS duplicate_keys,
      (SELECT count(*) FROM ${want} w ANTI JOIN ${got} g USING (account_id, post_id)) AS missing,
      (SELECT count(*) FROM ${got} g ANTI JOIN ${want} w USING (account_id, post_id)) AS extra,
      (SELECT count(*) FROM ${got} g JOIN ${want} w USING (account_id, post_id)
        WHERE g.created_at IS DISTINCT FROM w.created_at OR g.text IS DISTINCT FROM w.text OR g.likes IS DISTINCT FROM w.likes) AS differing`);
  const n = (k: string) => Number(r?.[k] ?? NaN);
  const result = {
    rows: n("rows"),
    expected: n("expected"),
    duplicateKeys: n("duplicate_keys"),
    missing: n("missing"),
    extra: n("extra"),
    differing: n("differing"),
    hashMatches,
  };
  return { ...result, exact: result.rows === result.expected && result.duplicateKeys + result.missing + result.extra + result.differing === 0 && hashMatches };
}
