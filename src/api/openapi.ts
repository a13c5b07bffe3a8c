// OpenAPI 3.1, generated from the zod schemas that validate the requests (src/api/schemas.ts and
// each pipeline's params), so the document cannot drift from what the API accepts.
import { z } from "zod";
import type { Pipeline } from "../pipelines/define";
import { RUN_STATUSES } from "../types";
import { backfillSchema, errorSchema, flowRunSchema, listQuery, optionsSchema, rerunSchema, tasksQuery } from "./schemas";
import { FLOW_STATUSES, type Flow } from "../flows/define";

type JsonSchema = Record<string, unknown>;

const schema = (s: z.ZodType, io: "input" | "output" = "input"): JsonSchema => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io, unrepresentable: "any", target: "draft-2020-12" }) as JsonSchema;
  return rest;
};

function queryParameters(s: z.ZodObject<z.ZodRawShape>): JsonSchema[] {
  const json = schema(s) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: "query",
    required: json.required?.includes(name) ?? false,
    schema: property,
  }));
}

const error = (description: string) => ({ description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } });
const ok = (description: string, s: JsonSchema = { type: "object" }) => ({ description, content: { "application/json": { schema: s } } });
const runId = { name: "id", in: "path", required: true, schema: { type: "string", pattern: "^[a-z0-9](?:[a-z0-9-]{0,126}[a-z0-9])?$" } };
const jsonBody = (s: JsonSchema, required = true) => ({ required, content: { "application/json": { schema: s } } });
const mutating = { security: [{ bearer: [] }] };

/** The flows' paths: their runs for a window, cancel, re-run from the failed steps, schedules. */
function flowPaths(flows: readonly Flow[]): Record<string, JsonSchema> {
  if (flows.length === 0) return {};
  const flowName = { name: "flow", in: "path", required: true, schema: { type: "string", enum: flows.map((f) => f.name) } };
  const flowRun = { ...runId, name: "id" };
  return {
    "/v1/flows": { get: { summary: "The flows: steps, their after edges, schedules", responses: { "200": ok("{ flows }") } } },
    "/v1/flows/{flow}": {
      get: { summary: "A flow, its schedules and recent runs", parameters: [flowName], responses: { "200": ok("The flow"), "404": error("Unknown flow") } },
    },
    "/v1/flows/{flow}/runs": {
      get: {
        summary: "The flow's runs, newest first",
        parameters: [
          flowName,
          { name: "status", in: "query", schema: { type: "string", enum: [...FLOW_STATUSES] } },
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100 } },
        ],
        responses: { "200": ok("{ runs }") },
      },
      post: {
        summary: "Start a run of the flow for a window (one run per window)",
        ...mutating,
        parameters: [flowName],
        requestBody: jsonBody({ $ref: "#/components/schemas/FlowRun" }),
        responses: { "202": ok("Started"), "200": ok("The window's run already exists"), "400": error("Invalid window, or a step's params invalid for it") },
      },
    },
    "/v1/flows/{flow}/runs/{id}": {
      get: {
        summary: "A flow run: each step's status, attempts and pipeline run",
        parameters: [flowName, flowRun],
        responses: { "200": ok("The run"), "404": error("Unknown run") },
      },
    },
    "/v1/flows/{flow}/runs/{id}/cancel": {
      post: {
        summary: "Cancel a flow run and its running steps",
        ...mutating,
        parameters: [flowName, flowRun],
        responses: { "202": ok("Cancelled"), "404": error("Unknown run"), "409": error("Already ended") },
      },
    },
    "/v1/flows/{flow}/runs/{id}/rerun": {
      post: {
        summary: "Re-run an ended run from the steps that did not succeed",
        ...mutating,
        parameters: [flowName, flowRun],
        responses: { "202": ok("Re-running"), "404": error("Unknown run"), "409": error("Still running, or succeeded") },
      },
    },
    "/v1/flows/{flow}/schedules/{schedule}/{action}": {
      post: {
        summary: "Pause or resume one of the flow's schedules",
        ...mutating,
        parameters: [
          flowName,
          { name: "schedule", in: "path", required: true, schema: { type: "string" } },
          { name: "action", in: "path", required: true, schema: { type: "string", enum: ["pause", "resume"] } },
        ],
        responses: { "200": ok("State"), "404": error("Unknown schedule") },
      },
    },
  };
}

/** The API over these pipelines and flows (the ones this environment runs). */
export function openApiDocument(pipelines: readonly Pipeline[], flows: readonly Flow[] = []): JsonSchema {
  const pipelineName = { name: "name", in: "path", required: true, schema: { type: "string", enum: pipelines.map((p) => p.name) } };
  const submit = {
    oneOf: pipelines.map((p) => ({
      type: "object",
      additionalProperties: false,
      required: ["pipeline"],
      properties: {
        pipeline: { const: p.name },
        params: { $ref: `#/components/schemas/Params.${p.name}` },
        options: { $ref: "#/components/schemas/RunOptions" },
      },
    })),
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "sluice",
      version: "0.1.0",
      description:
        "Batch data pipelines on Cloudflare Workers: submit runs, watch them, download their Parquet output. Errors share one shape: { error: { code, message, details? } }.",
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "The SLUICE_API_TOKEN secret. GETs are open where PUBLIC_READS is true." } },
      schemas: {
        Error: schema(errorSchema),
        RunOptions: schema(optionsSchema),
        Backfill: schema(backfillSchema),
        Rerun: schema(rerunSchema),
        FlowRun: schema(flowRunSchema),
        RunStatus: { type: "string", enum: [...RUN_STATUSES] },
        ...Object.fromEntries(pipelines.map((p) => [`Params.${p.name}`, schema(p.paramsSchema)])),
      },
    },
    paths: {
      "/v1/jobs": {
        post: {
          summary: "Submit a run",
          ...mutating,
          requestBody: jsonBody(submit),
          responses: {
            "202": ok("Accepted: { id, status, links }"),
            "400": error("Invalid body or params"),
            "401": error("Missing or wrong token"),
            "404": error("Unknown pipeline"),
            "409": error("Pipeline busy"),
            "413": error("Body too large"),
            "415": error("Not JSON"),
          },
        },
        get: {
          summary: "List runs, newest first",
          parameters: queryParameters(listQuery),
          responses: { "200": ok("{ runs, next }"), "400": error("Invalid query") },
        },
      },
      "/v1/jobs/{id}": {
        get: { summary: "A run: status, phases, progress, output", parameters: [runId], responses: { "200": ok("The run"), "404": error("Unknown run") } },
      },
      "/v1/jobs/{id}/tasks": {
        get: {
          summary: "A run's tasks",
          parameters: [runId, ...queryParameters(tasksQuery)],
          responses: { "200": ok("{ tasks, next }"), "404": error("Unknown run") },
        },
      },
      "/v1/jobs/{id}/manifest": {
        get: { summary: "The run manifest", parameters: [runId], responses: { "200": ok("The manifest"), "404": error("Unknown run") } },
      },
      "/v1/jobs/{id}/output": {
        get: {
          summary: "The run's latest Parquet output that passed quality",
          parameters: [runId],
          responses: {
            "200": {
              description: "Parquet",
              content: { "application/vnd.apache.parquet": { schema: { type: "string", contentMediaType: "application/vnd.apache.parquet" } } },
            },
            "404": error("Unknown run"),
            "409": error("No output has passed quality yet, or the run failed it"),
          },
        },
      },
      "/v1/jobs/{id}/cancel": {
        post: {
          summary: "Cancel a run",
          ...mutating,
          parameters: [runId],
          responses: { "202": ok("Cancelled"), "404": error("Unknown run"), "409": error("Already ended") },
        },
      },
      "/v1/jobs/{id}/redrive": {
        post: {
          summary: "Re-run the failed tasks of a finished run",
          ...mutating,
          parameters: [runId],
          responses: { "202": ok("Redriven"), "404": error("Unknown run"), "409": error("Still running, or nothing to redrive") },
        },
      },
      "/v1/jobs/{id}/phases/{phase}/rerun": {
        post: {
          summary: "Re-run a phase and those after it, from the stored layer below",
          ...mutating,
          parameters: [runId, { name: "phase", in: "path", required: true, schema: { type: "string", enum: ["refine", "silver", "aggregate", "quality"] } }],
          requestBody: jsonBody({ $ref: "#/components/schemas/Rerun" }, false),
          responses: { "202": ok("Re-running"), "400": error("Invalid phase or params"), "409": error("Still running") },
        },
      },
      "/v1/pipelines": { get: { summary: "The pipelines", responses: { "200": ok("{ pipelines }") } } },
      "/v1/pipelines/{name}": {
        get: { summary: "A pipeline and its state", parameters: [pipelineName], responses: { "200": ok("The pipeline"), "404": error("Unknown pipeline") } },
      },
      "/v1/pipelines/{name}/pause": { post: { summary: "Pause its schedules", ...mutating, parameters: [pipelineName], responses: { "200": ok("State") } } },
      "/v1/pipelines/{name}/resume": { post: { summary: "Resume its schedules", ...mutating, parameters: [pipelineName], responses: { "200": ok("State") } } },
      "/v1/pipelines/{name}/backfill": {
        post: {
          summary: "Backfill: one run per window",
          ...mutating,
          parameters: [pipelineName],
          requestBody: jsonBody({ $ref: "#/components/schemas/Backfill" }),
          responses: { "202": ok("The backfill"), "400": error("Invalid range or params") },
        },
      },
      "/v1/pipelines/{name}/backfills/{backfill}": {
        get: {
          summary: "A backfill's status and summary",
          parameters: [pipelineName, { name: "backfill", in: "path", required: true, schema: { type: "string" } }],
          responses: { "200": ok("The backfill"), "404": error("Unknown backfill") },
        },
      },
      ...flowPaths(flows),
    },
  };
}
