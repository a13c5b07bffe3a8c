// /v1/pipelines: what runs here, their schedules, pause/resume, and backfills.
import { Hono } from "hono";
import { z } from "zod";
import type { Env } from "../env";
import type { Catalog } from "../catalog";
import type { Api } from "../http/context";
import { badRequest, notFound } from "../errors";
import { parseWith, readJson } from "../http/body";
import { MAX_BACKFILL_WINDOWS, backfillSchema, backfillWindows } from "../pipelines/backfill";
import type { Pipeline } from "../pipelines/define";
import { registryStub } from "../../durable-objects/rpc/registry";
import type { Json } from "../types";

function pipelineOr404(catalog: Catalog, env: Env, name: string): Pipeline {
  const pipeline = catalog.runnableNamed(env, name);
  if (!pipeline) throw notFound(`pipeline ${name}`, { known: catalog.runnable(env).map((p) => p.name) });
  return pipeline;
}

/** A pipeline as `GET /v1/pipelines` shows it. */
export interface PipelineDescription {
  name: string;
  description: string;
  source: Pick<Pipeline["source"], "name" | "rateLimit" | "concurrency">;
  /** JSON Schema of the params `POST /v1/jobs` takes. */
  params: Record<string, unknown>;
  columns: Pipeline["columns"];
  key: Pipeline["key"];
  schedules: { name: string; cron: string; window: string; pausedByDefault: boolean; fullRefresh: boolean }[];
}

/** A pipeline as this environment runs it (its source limits applied). */
const describe = (p: Pipeline): PipelineDescription => ({
  name: p.name,
  description: p.description,
  source: (({ name, rateLimit, concurrency }) => ({ name, rateLimit, concurrency }))(p.source),
  params: z.toJSONSchema(p.paramsSchema, { io: "input", unrepresentable: "any" }),
  columns: p.columns,
  key: p.key,
  schedules: p.schedules.map((s) => ({
    name: s.name,
    cron: s.cron,
    window: s.window,
    pausedByDefault: s.paused ?? false,
    fullRefresh: s.fullRefresh ?? false,
  })),
});

const backfillId = (now: number) =>
  `bf-${new Date(now).toISOString().replace(/[-:]/g, "").slice(0, 15).toLowerCase()}-${Array.from(crypto.getRandomValues(new Uint8Array(2)), (b) => b.toString(16).padStart(2, "0")).join("")}`;

export const pipelines = new Hono<Api>()
  .get("/", (c) => c.json({ pipelines: c.var.catalog.runnable(c.env).map(describe) }))
  .get("/:name", async (c) => {
    const pipeline = pipelineOr404(c.var.catalog, c.env, c.req.param("name"));
    const state = await registryStub(c.env, pipeline.name).state(pipeline.name);
    return c.json({ ...describe(pipeline), state });
  })
  .post("/:name/pause", async (c) => {
    const pipeline = pipelineOr404(c.var.catalog, c.env, c.req.param("name"));
    return c.json(await registryStub(c.env, pipeline.name).setPaused(pipeline.name, true));
  })
  .post("/:name/resume", async (c) => {
    const pipeline = pipelineOr404(c.var.catalog, c.env, c.req.param("name"));
    return c.json(await registryStub(c.env, pipeline.name).setPaused(pipeline.name, false));
  })
  .post("/:name/schedules/:schedule/:action{pause|resume}", async (c) => {
    const pipeline = pipelineOr404(c.var.catalog, c.env, c.req.param("name"));
    const state = await registryStub(c.env, pipeline.name).setSchedulePaused(pipeline.name, c.req.param("schedule"), c.req.param("action") === "pause");
    if (!state) throw notFound(`schedule ${c.req.param("schedule")} of ${pipeline.name}`, { known: pipeline.schedules.map((s) => s.name) });
    return c.json(state);
  })
  .post("/:name/backfill", async (c) => {
    const pipeline = pipelineOr404(c.var.catalog, c.env, c.req.param("name"));
    const body = parseWith(backfillSchema, await readJson(c), "invalid_backfill", "invalid backfill");
    const windows = backfillWindows(body);
    if (windows.length > MAX_BACKFILL_WINDOWS)
      throw badRequest("too_many_windows", `this range has more than ${MAX_BACKFILL_WINDOWS} windows: split it, or choose a larger window`);
    let batches = 0;
    for (const w of windows) {
      const params = parseWith(
        pipeline.paramsSchema,
        { ...body.params, from: w.from, to: w.to },
        "invalid_params",
        `invalid params for ${pipeline.name} (window ${w.from}..${w.to})`,
      );
      for (const _ of pipeline.streamed ? [] : pipeline.plan(params)) {
        if (++batches > pipeline.maxBatches * 10)
          throw badRequest("too_many_batches", `this backfill plans more than ${pipeline.maxBatches * 10} batches: split it`);
      }
    }
    const id = backfillId(Date.now());
    const view = await registryStub(c.env, pipeline.name).backfill(pipeline.name, {
      id,
      windows,
      params: body.params as Json,
      force: body.force_reprocess,
      maxParallel: body.max_parallel,
      request: body as unknown as Json,
    });
    return c.json({ ...view, links: { self: `/v1/pipelines/${pipeline.name}/backfills/${id}` } }, 202);
  })
  .get("/:name/backfills/:id", async (c) => {
    const pipeline = pipelineOr404(c.var.catalog, c.env, c.req.param("name"));
    const id = c.req.param("id");
    if (!/^bf-[0-9t]{15}-[0-9a-f]{4}$/.test(id)) throw badRequest("invalid_backfill_id", "backfill ids look like bf-20261122t040000-1a2b");
    const view = await registryStub(c.env, pipeline.name).backfillView(pipeline.name, id);
    if (!view) throw notFound(`backfill ${id}`);
    return c.json(view);
  });
