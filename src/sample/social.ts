// The sample upstream's social API: accounts and their posts behind cursor pagination, some
// accounts deleted (410), a bearer token when configured. Deterministic, like the weather data.
import { errorBody } from "../errors";
import { hash32 } from "../hash";
import type { SampleConfig } from "./config";

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

export interface SamplePost {
  account_id: string;
  post_id: string;
  created_at: string;
  text: string;
  likes: number;
}

export const isDeletedAccount = (id: string, config: Pick<SampleConfig, "deletedAccounts">) => Number(id) % 97 === 0 || config.deletedAccounts.includes(id);

/** How many posts an account has (0 to 22). */
export const postCount = (id: string) => hash32(`posts|${id}`) % 23;

export function post(id: string, i: number): SamplePost {
  const h = hash32(`post|${id}|${i}`);
  return {
    account_id: id,
    post_id: `${id}-${i}`,
    created_at: new Date(Date.UTC(2024, 0, 1) + (h % (365 * 86_400)) * 1000).toISOString(),
    text: `post ${i} of account ${id}`,
    likes: h % 1000,
  };
}

export function socialRoute(request: Request, url: URL, path: string, config: SampleConfig): Response {
  if (config.socialToken && request.headers.get("authorization") !== `Bearer ${config.socialToken}`) {
    return json(errorBody("unauthorized", "send Authorization: Bearer <token>"), 401);
  }
  const listing = /^accounts$/.exec(path);
  if (listing) {
    const offset = Math.max(0, Number(url.searchParams.get("cursor") ?? "0") || 0);
    const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get("limit") ?? "100") || 100));
    const total = Math.min(1_000_000, Math.max(0, Number(url.searchParams.get("total") ?? "1000") || 1000));
    const ids = Array.from({ length: Math.max(0, Math.min(limit, total - offset)) }, (_, i) => String(offset + i + 1));
    return json({ accounts: ids.map((id) => ({ id })), next_cursor: offset + limit < total ? String(offset + limit) : null });
  }
  // For tests of where a request may go next: a page whose Link names any URL, and a redirect to any URL.
  if (path === "link") {
    const next = url.searchParams.get("next") ?? "";
    return new Response(JSON.stringify({ posts: [] }), { status: 200, headers: { "content-type": "application/json", link: `<${next}>; rel="next"` } });
  }
  // A body of `bytes` bytes (at most 64 MiB), streamed without a Content-Length, as an endless page would be.
  if (path === "big") {
    const bytes = Math.min(64 * 1024 * 1024, Math.max(0, Number(url.searchParams.get("bytes") ?? "0") || 0));
    const head = '{"posts":[],"pad":"';
    let left = Math.max(0, bytes - head.length - 2);
    const chunk = new TextEncoder().encode("x".repeat(65_536));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(head));
      },
      pull(controller) {
        if (left <= 0) {
          controller.enqueue(new TextEncoder().encode('"}'));
          controller.close();
          return;
        }
        const n = Math.min(left, chunk.byteLength);
        controller.enqueue(chunk.subarray(0, n));
        left -= n;
      },
    });
    return new Response(stream, { status: 200, headers: { "content-type": "application/json" } });
  }
  if (path === "moved") return new Response(null, { status: 302, headers: { location: url.searchParams.get("to") ?? "/" } });
  // An account listing whose cursor leads back to where it began after `period` pages, as a faulty API's does.
  if (path === "loop") {
    const period = Math.min(1000, Math.max(1, Number(url.searchParams.get("period") ?? "3") || 3));
    const at = Math.max(0, Number(url.searchParams.get("cursor") ?? "0") || 0);
    return json({ accounts: [], next_cursor: String((at + 1) % period) });
  }
  const posts = /^accounts\/([0-9]{1,9})\/posts$/.exec(path);
  if (!posts) return json(errorBody("not_found", `no route ${path}`), 404);
  const id = posts[1]!;
  if (isDeletedAccount(id, config)) return json(errorBody("gone", `account ${id} was deleted`), 410);
  if (config.brokenAccounts.includes(id)) return json(errorBody("bad_request", `account ${id} cannot be read`), 400);
  const offset = Math.max(0, Number(url.searchParams.get("cursor") ?? "0") || 0);
  const limit = Math.min(100, Math.max(1, Number(url.searchParams.get("limit") ?? "10") || 10));
  const count = postCount(id);
  const page = Array.from({ length: Math.max(0, Math.min(limit, count - offset)) }, (_, i) => post(id, offset + i));
  return json({ posts: page, next_cursor: offset + limit < count ? String(offset + limit) : null });
}
