// Pagination: how to ask for the next page after one came back. Each page is its own
// rate-limited request; a batch's pages are stored together as its bronze raw object.
import { atPath } from "../parsers/records";

export interface Page {
  url: string;
  body: string;
  headers: Headers;
}

/** Returns the next page's URL, or null when the last page came back. */
export type Paginate = (page: Page) => string | null;

/** `?cursor=…` from a field of the body (`next_cursor`, `meta.next`); stops when it is empty. */
export function cursorPagination(options: { cursorPath: string; param: string }): Paginate {
  return (page) => {
    const cursor = atPath(JSON.parse(page.body), options.cursorPath);
    if (cursor === null || cursor === undefined || cursor === "") return null;
    const url = new URL(page.url);
    url.searchParams.set(options.param, String(cursor));
    return url.toString();
  };
}

/** `?offset=…&limit=…`: the next offset until a page holds fewer than `limit` records. */
export function offsetPagination(options: { offsetParam: string; limitParam: string; limit: number; recordsPath?: string }): Paginate {
  return (page) => {
    const records = atPath(JSON.parse(page.body), options.recordsPath ?? "");
    if (!Array.isArray(records) || records.length < options.limit) return null;
    const url = new URL(page.url);
    const offset = Number(url.searchParams.get(options.offsetParam) ?? "0");
    url.searchParams.set(options.offsetParam, String(offset + options.limit));
    url.searchParams.set(options.limitParam, String(options.limit));
    return url.toString();
  };
}

/** RFC 8288 `Link: <…>; rel="next"`, resolved against the page's URL. */
export function linkPagination(): Paginate {
  return (page) => {
    const link = page.headers.get("link");
    if (!link) return null;
    for (const part of link.split(",")) {
      const m = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(part);
      if (m) return new URL(m[1]!, page.url).toString();
    }
    return null;
  };
}
