// /sample/*: the synthetic upstream, served only where SAMPLE_UPSTREAM=enabled. Its data (the
// weather API under /edr, the social API under /social, the shop's change feeds under /shop)
// answers like a public API; its control (`_config`, `_stats`) and the webhook receiver's deliveries are
// the API's own: they need the token to change anything (reads follow PUBLIC_READS).
import { Hono, type Context } from "hono";
import type { Api } from "../http/context";
import { notFound } from "../errors";
import { requireToken } from "../http/auth";
import { sampleEnabled, sampleUpstreamStub } from "../upstream/fetch";

const forward = async (c: Context<Api>) => {
  if (!sampleEnabled(c.env)) throw notFound("route");
  const response = await sampleUpstreamStub(c.env).fetch(c.req.raw);
  return new Response(response.body, response); // a stub's response headers are immutable
};

const enabled = async (c: Context<Api>, next: () => Promise<void>) => {
  if (!sampleEnabled(c.env)) throw notFound("route");
  await next();
};

export const sample = new Hono<Api>()
  .use("/edr/_config", enabled, requireToken())
  .use("/edr/_stats", enabled, requireToken())
  .use("/hooks/*", enabled, requireToken())
  .all("/edr/*", forward)
  .all("/social/*", forward)
  .all("/shop/*", forward)
  .all("/hooks/*", forward);
