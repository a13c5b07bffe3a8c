// /sample/edr/*: the synthetic upstream, served only where SAMPLE_UPSTREAM=enabled.
import { Hono } from "hono";
import type { Env } from "../env";
import { notFound } from "../errors";
import { sampleEnabled, sampleUpstreamStub } from "../upstream/fetch";

export const sample = new Hono<{ Bindings: Env }>().all("/edr/*", async (c) => {
  if (!sampleEnabled(c.env)) throw notFound("route");
  const response = await sampleUpstreamStub(c.env).fetch(c.req.raw);
  return new Response(response.body, response); // a stub's response headers are immutable
});
