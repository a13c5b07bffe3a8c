// Is a sample-posts output exact? The output, read by DuckDB, against the sample upstream's own
// posts of each account, fetched over HTTP page by page (faults and limits off: call this after
// the run, with the sample config reset). Accounts the upstream says are gone have no rows.
import type { Client } from "./client.ts";
import type { Duck } from "./duckdb.ts";
import { compareOutput, type Exactness } from "./exactness.ts";

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
  const columns = { account_id: "VARCHAR", post_id: "VARCHAR", created_at: "TIMESTAMPTZ", text: "VARCHAR", likes: "BIGINT" };
  return compareOutput(api, runId, { lines: await upstreamPosts(baseUrl, accounts), columns, key: ["account_id", "post_id"] }, duck, dir);
}
