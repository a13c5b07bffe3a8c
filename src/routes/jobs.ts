// /v1/jobs: submit runs and watch them.
import { Hono } from "hono";
import type { Env } from "../env";
import { ApiError, badRequest, conflict, notFound } from "../errors";
import { parseWith, readJson } from "../http/body";
import { newRunId, runIdSchema } from "../ids";
import type { Api } from "../http/context";
import { readPublished } from "../r2/done";
import { layout } from "../r2/layout";
import { coordinatorStub } from "../../durable-objects/rpc/coordinator";
import { registryStub } from "../../durable-objects/rpc/registry";
import { listQuery, rerunPhase, rerunSchema, submitSchema, tasksQuery } from "../api/schemas";
import type { Json, RunSummary } from "../types";
import { datasetNames } from "../gold/changes";

const links = (id: string) => ({
  self: `/v1/jobs/${id}`,
  tasks: `/v1/jobs/${id}/tasks`,
  manifest: `/v1/jobs/${id}/manifest`,
  output: `/v1/jobs/${id}/output`,
});

function runId(raw: string): string {
  const parsed = runIdSchema.safeParse(raw);
  if (!parsed.success) throw badRequest("invalid_run_id", parsed.error.issues[0]?.message ?? "invalid run id");
  return parsed.data;
}

async function viewOrThrow(env: Env, id: string) {
  const view = await coordinatorStub(env, id).view();
  if (!view) throw notFound(`run ${id}`);
  return view;
}

export const jobs = new Hono<Api>()
  .post("/", async (c) => {
    const body = parseWith(submitSchema, await readJson(c), "invalid_body", "invalid job");
    const pipeline = c.var.catalog.runnableNamed(c.env, body.pipeline);
    if (!pipeline) throw notFound(`pipeline ${body.pipeline}`, { known: c.var.catalog.runnable(c.env).map((p) => p.name) });
    const params = parseWith(pipeline.paramsSchema, body.params, "invalid_params", `invalid params for ${pipeline.name}`) as Json;
    let batches = 0;
    for (const _ of pipeline.streamed ? [] : pipeline.plan(params)) {
      if (++batches > pipeline.maxBatches) {
        throw badRequest(
          "too_many_batches",
          `these params plan more than ${pipeline.maxBatches} batches, the most one run of ${pipeline.name} may have: split the range`,
        );
      }
    }
    if (batches === 0 && !pipeline.streamed) throw badRequest("empty_plan", "these params plan no batches");
    const id = newRunId(pipeline.name, Date.now());
    const result = await registryStub(c.env, pipeline.name).submit(pipeline.name, {
      runId: id,
      params,
      options: body.options,
      lane: "main",
      trigger: "manual",
    });
    if (result.status === "skipped") {
      throw conflict(
        "pipeline_busy",
        `${pipeline.name} already runs ${pipeline.maxConcurrentRuns} run(s) and skips new ones while busy: try again when it is idle`,
      );
    }
    return c.json({ id, status: result.status, links: links(id) }, 202, { location: `/v1/jobs/${id}` });
  })
  .get("/", async (c) => {
    const q = parseWith(listQuery, c.req.query(), "invalid_query", "invalid query");
    if (q.pipeline && !c.var.catalog.find(q.pipeline)) throw notFound(`pipeline ${q.pipeline}`);
    const names = q.pipeline ? [q.pipeline] : c.var.catalog.runnable(c.env).map((p) => p.name);
    const pages = await Promise.all(names.map((n) => registryStub(c.env, n).list({ status: q.status, before: q.cursor, limit: q.limit })));
    const runs: RunSummary[] = pages
      .flatMap((p) => p.runs)
      .sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id))
      .slice(0, q.limit);
    const more = pages.some((p) => p.next !== null) || pages.reduce((n, p) => n + p.runs.length, 0) > q.limit;
    const last = runs[runs.length - 1];
    return c.json({ runs: runs.map((r) => ({ ...r, links: links(r.id) })), next: more && last ? `${last.createdAt}:${last.id}` : null });
  })
  .get("/:id", async (c) => {
    const id = runId(c.req.param("id"));
    const view = await viewOrThrow(c.env, id);
    return c.json({ ...view, links: links(id) });
  })
  .get("/:id/tasks", async (c) => {
    const id = runId(c.req.param("id"));
    const q = parseWith(tasksQuery, c.req.query(), "invalid_query", "invalid query");
    await viewOrThrow(c.env, id);
    const page = await coordinatorStub(c.env, id).tasks({ phase: q.phase, status: q.status, afterSeq: q.cursor, limit: q.limit });
    return c.json({ tasks: page.tasks.map(({ seq: _seq, ...t }) => t), next: page.next === null ? null : String(page.next) });
  })
  .post("/:id/cancel", async (c) => {
    const id = runId(c.req.param("id"));
    const result = await coordinatorStub(c.env, id).cancel();
    return c.json({ id, status: result.status, links: links(id) }, 202);
  })
  .post("/:id/redrive", async (c) => {
    const id = runId(c.req.param("id"));
    const result = await coordinatorStub(c.env, id).redrive();
    return c.json({ id, status: result.view.status, tasks: result.tasks, generation: result.view.generation, links: links(id) }, 202);
  })
  .post("/:id/phases/:phase/rerun", async (c) => {
    const id = runId(c.req.param("id"));
    const phase = parseWith(rerunPhase, c.req.param("phase"), "invalid_phase", "invalid phase");
    const body =
      c.req.header("content-type") || c.req.header("content-length")
        ? parseWith(rerunSchema, await readJson(c), "invalid_body", "invalid re-run")
        : { params: {} };
    const view = await viewOrThrow(c.env, id);
    const pipeline = c.var.catalog.find(view.pipeline);
    if (!pipeline) throw conflict("pipeline_removed", `pipeline ${view.pipeline} is no longer deployed: its runs can be read, not re-run`);
    const merged = { ...(view.params as Record<string, unknown>), ...body.params };
    const params = parseWith(pipeline.paramsSchema, merged, "invalid_params", `invalid params for ${pipeline.name}`) as Json;
    const result = await coordinatorStub(c.env, id).rerun(phase, params);
    return c.json({ id, status: result.view.status, phase, generation: result.view.generation, version: result.view.version, links: links(id) }, 202);
  })
  .get("/:id/manifest", async (c) => {
    const id = runId(c.req.param("id"));
    const object = await c.env.BUCKET.get(layout.runManifest(id));
    if (!object) throw notFound(`manifest of run ${id}`);
    return new Response(object.body, { headers: { "content-type": "application/json" } });
  })
  .get("/:id/output", async (c) => {
    const id = runId(c.req.param("id"));
    const view = await viewOrThrow(c.env, id);
    // Only gold that passed quality is served: the latest such version, also while a redrive or
    // re-run makes the next one, and after a cancel.
    const published = view.published;
    if (!published) {
      if (view.output && view.status === "failed")
        throw new ApiError(409, "output_failed_quality", `run ${id} failed (${view.reason ?? "see its manifest"}): its output is not served`);
      throw new ApiError(409, "output_not_ready", `run ${id} has no output that passed quality yet (status ${view.status})`);
    }
    // `?dataset=<name>`: a gold dataset computed with that output (published with it).
    const dataset = c.req.query("dataset");
    const pipeline = c.var.catalog.find(view.pipeline);
    const known = pipeline ? datasetNames(pipeline) : [];
    if (dataset !== undefined && !known.includes(dataset)) throw notFound(`gold dataset ${dataset} of ${view.pipeline}`, { known });
    const key = dataset === undefined ? published.key : layout.goldDatasetBeside(published.key, view.pipeline, dataset);
    const marker = await readPublished(c.env.BUCKET, key);
    const served = marker ?? published;
    const object = marker && (dataset !== undefined || marker.sha256 === published.sha256) ? await c.env.BUCKET.get(key) : null;
    if (!object) throw notFound(dataset === undefined ? `output of run ${id}` : `gold dataset ${dataset} of run ${id}`);
    return new Response(object.body, {
      headers: {
        "content-type": "application/vnd.apache.parquet",
        "content-length": String(object.size),
        "content-disposition": `attachment; filename="${id}${dataset === undefined ? "" : `-${dataset}`}.parquet"`,
        etag: object.httpEtag,
        "x-sluice-rows": String(served.rows),
        "x-sluice-sha256": served.sha256,
        "x-sluice-version": marker!.version,
      },
    });
  });
