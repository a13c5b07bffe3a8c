// /sample/edr/*: the synthetic upstream, served only where SAMPLE_UPSTREAM=enabled.
import { Hono, type Context } from "hono";
import type { Env } from "../env";
import { notFound } from "../errors";
import { sampleEnabled, sampleUpstreamStub } from "../upstream/fetch";

const forward = async (c: Context<{ Bindings: Env }>) => {
  if (!sampleEnabled(c.env)) throw notFound("route");
  const response = await sampleUpstreamStub(c.env).fetch(c.req.raw);
  return new Response(response.body, response); // a stub's response headers are immutable
};

export const sample = new Hono<{ Bindings: Env }>().all("/edr/*", forward).all("/hooks/*", forward);
