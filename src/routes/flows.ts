// /v1/flows: the flows this deployment runs, their runs (start one for a window, watch it, cancel
// it, re-run it from the steps that did not succeed), and their schedules' pause and resume.
import { Hono } from "hono";
import { z } from "zod";
import type { Env } from "../env";
import type { Catalog } from "../catalog";
import type { Api } from "../http/context";
import { badRequest, notFound } from "../errors";
import { parseWith, readJson } from "../http/body";
import { FLOW_STATUSES, type Flow } from "../flows/define";
import { flowRunSchema } from "../api/schemas";
import type { DateWindow } from "../pipelines/schedule";
import { runIdSchema } from "../ids";
import { flowStub } from "../../durable-objects/rpc/flow";

function flowOr404(catalog: Catalog, env: Env, name: string): Flow {
  const flow = catalog.runnableFlows(env).find((f) => f.name === name);
  if (!flow) throw notFound(`flow ${name}`, { known: catalog.runnableFlows(env).map((f) => f.name) });
  return flow;
}

function runIdOf(raw: string): string {
  const parsed = runIdSchema.safeParse(raw);
  if (!parsed.success) throw badRequest("invalid_run_id", parsed.error.issues[0]?.message ?? "invalid run id");
  return parsed.data;
}

/** A flow as `GET /v1/flows` shows it: its steps (the graph) and schedules. */
const describe = (f: Flow) => ({
  name: f.name,
  description: f.description,
  steps: f.steps.map((s) => ({ name: s.name, pipeline: s.pipeline, after: s.after, retries: s.retries })),
  schedules: f.schedules.map((s) => ({
    name: s.name,
    cron: s.cron,
    window: s.window,
    pausedByDefault: s.paused ?? false,
    fullRefresh: s.fullRefresh ?? false,
  })),
  timeoutMs: f.timeoutMs,
  maxConcurrentRuns: f.maxConcurrentRuns,
});

/** Every step's params for the window, checked before anything starts: bad params are the caller's 400, not a failed step. */
function checkStepParams(catalog: Catalog, flow: Flow, window: DateWindow): void {
  for (const step of flow.steps) {
    const pipeline = catalog.get(step.pipeline);
    parseWith(pipeline.paramsSchema, step.params(window), "invalid_params", `step ${step.name} (${pipeline.name}) for ${window.from}..${window.to}`);
  }
}

const links = (flow: string, id: string) => ({ self: `/v1/flows/${flow}/runs/${id}`, dashboard: `/flows/${flow}/runs/${id}` });

export const flows = new Hono<Api>()
  .get("/", (c) => c.json({ flows: c.var.catalog.runnableFlows(c.env).map(describe) }))
  .get("/:name", async (c) => {
    const flow = flowOr404(c.var.catalog, c.env, c.req.param("name"));
    return c.json({ ...describe(flow), state: await flowStub(c.env, flow.name).state(flow.name) });
  })
  .post("/:name/runs", async (c) => {
    const flow = flowOr404(c.var.catalog, c.env, c.req.param("name"));
    const body = parseWith(flowRunSchema, await readJson(c), "invalid_body", "invalid flow run");
    const window = { from: body.from, to: body.to };
    checkStepParams(c.var.catalog, flow, window);
    const result = await flowStub(c.env, flow.name).start(flow.name, { window, trigger: "manual", force: body.force });
    return c.json({ id: result.runId, status: result.status, created: result.created, links: links(flow.name, result.runId) }, result.created ? 202 : 200);
  })
  .get("/:name/runs", async (c) => {
    const flow = flowOr404(c.var.catalog, c.env, c.req.param("name"));
    const query = parseWith(
      z.object({ status: z.enum(FLOW_STATUSES).optional(), limit: z.coerce.number().int().min(1).max(100).default(20) }).strict(),
      c.req.query(),
      "invalid_query",
      "invalid query",
    );
    return c.json({ runs: await flowStub(c.env, flow.name).list(flow.name, query) });
  })
  .get("/:name/runs/:id", async (c) => {
    const flow = flowOr404(c.var.catalog, c.env, c.req.param("name"));
    const id = runIdOf(c.req.param("id"));
    const view = await flowStub(c.env, flow.name).view(flow.name, id);
    if (!view) throw notFound(`run ${id} of flow ${flow.name}`);
    return c.json(view);
  })
  .post("/:name/runs/:id/cancel", async (c) => {
    const flow = flowOr404(c.var.catalog, c.env, c.req.param("name"));
    const id = runIdOf(c.req.param("id"));
    return c.json(await flowStub(c.env, flow.name).cancel(flow.name, id), 202);
  })
  .post("/:name/runs/:id/rerun", async (c) => {
    const flow = flowOr404(c.var.catalog, c.env, c.req.param("name"));
    const id = runIdOf(c.req.param("id"));
    return c.json(await flowStub(c.env, flow.name).rerun(flow.name, id), 202);
  })
  .post("/:name/schedules/:schedule/:action{pause|resume}", async (c) => {
    const flow = flowOr404(c.var.catalog, c.env, c.req.param("name"));
    const state = await flowStub(c.env, flow.name).setSchedulePaused(flow.name, c.req.param("schedule"), c.req.param("action") === "pause");
    if (!state) throw notFound(`schedule ${c.req.param("schedule")} of flow ${flow.name}`, { known: flow.schedules.map((s) => s.name) });
    return c.json(state);
  });
