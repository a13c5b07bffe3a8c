import { Hono } from "hono";
import { z } from "zod";
import type { Env } from "../env";
import { PIPELINES } from "../pipelines";

export const pipelines = new Hono<{ Bindings: Env }>().get("/", (c) =>
  c.json({
    pipelines: PIPELINES.map((p) => ({
      name: p.name,
      description: p.description,
      source: { name: p.source.name, rateLimit: p.source.rateLimit, concurrency: p.source.concurrency },
      params: z.toJSONSchema(p.paramsSchema, { io: "input", unrepresentable: "any" }),
      columns: p.columns,
      key: p.key,
    })),
  }),
);
