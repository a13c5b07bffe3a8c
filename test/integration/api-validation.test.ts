// Bad input gets a 4xx in the standard error shape and creates nothing.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api } from "../helpers";

const good = { pipeline: "sample-weather", params: { from: "2024-01-01", to: "2024-02-01" } };

interface Case {
  name: string;
  request: () => Promise<Response>;
  status: number;
  code: string;
  /** Something the error (message or details) must say. */
  mentions?: RegExp;
}

const post =
  (body: BodyInit, headers: Record<string, string> = { "content-type": "application/json" }) =>
  () =>
    api("/v1/jobs", { method: "POST", body, headers });
const postJson = (json: unknown) => () => api("/v1/jobs", { method: "POST", json });

const cases: Case[] = [
  { name: "malformed JSON", request: post("{not json"), status: 400, code: "invalid_json" },
  { name: "JSON without a content type", request: post(JSON.stringify(good), {}), status: 415, code: "unsupported_media_type" },
  { name: "JSON sent as text/plain", request: post(JSON.stringify(good), { "content-type": "text/plain" }), status: 415, code: "unsupported_media_type" },
  { name: "a body over the size limit", request: post(JSON.stringify({ ...good, pad: "x".repeat(300_000) })), status: 413, code: "body_too_large" },
  { name: "non-UTF-8 bytes", request: post(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), status: 400, code: "invalid_encoding" },
  { name: "an array body", request: postJson([good]), status: 400, code: "invalid_body" },
  { name: "a missing pipeline", request: postJson({ params: good.params }), status: 400, code: "invalid_body" },
  { name: "an unknown field", request: postJson({ ...good, extra: 1 }), status: 400, code: "invalid_body" },
  { name: "an unknown pipeline", request: postJson({ ...good, pipeline: "nope" }), status: 404, code: "not_found" },
  { name: "params of the wrong type", request: postJson({ ...good, params: "2024" }), status: 400, code: "invalid_body" },
  { name: "a missing from", request: postJson({ ...good, params: { to: "2024-02-01" } }), status: 400, code: "invalid_params" },
  { name: "an impossible date", request: postJson({ ...good, params: { from: "2024-02-30", to: "2024-03-01" } }), status: 400, code: "invalid_params" },
  { name: "from after to", request: postJson({ ...good, params: { from: "2024-03-01", to: "2024-02-01" } }), status: 400, code: "invalid_params" },
  { name: "from equal to to", request: postJson({ ...good, params: { from: "2024-03-01", to: "2024-03-01" } }), status: 400, code: "invalid_params" },
  { name: "an unknown chunk", request: postJson({ ...good, params: { ...good.params, chunk: "week" } }), status: 400, code: "invalid_params" },
  { name: "a malformed station", request: postJson({ ...good, params: { ...good.params, stations: ["../x"] } }), status: 400, code: "invalid_params" },
  { name: "duplicate stations", request: postJson({ ...good, params: { ...good.params, stations: ["10000", "10000"] } }), status: 400, code: "invalid_params" },
  { name: "an unknown param", request: postJson({ ...good, params: { ...good.params, force: "yes" } }), status: 400, code: "invalid_params" },
  {
    name: "batches whose bodies would pass the source's maxResponseBytes (100 stations × a year)",
    request: postJson({
      ...good,
      params: { stations: Array.from({ length: 100 }, (_, i) => String(10_000 + i)), from: "2024-01-01", to: "2025-01-01", chunk: "year" },
    }),
    status: 400,
    code: "invalid_params",
    mentions: /about 38\.5 MiB, over the source's maxResponseBytes \(32\.0 MiB\).*stationsPerBatch to at most 83/,
  },
  {
    name: "a plan over the batch limit",
    request: postJson({ ...good, params: { from: "1990-01-01", to: "2080-01-01", chunk: "day", stationsPerBatch: 1 } }),
    status: 400,
    code: "too_many_batches",
  },
  {
    name: "no token",
    request: () =>
      exports.default.fetch(new Request("http://x/v1/jobs", { method: "POST", body: JSON.stringify(good), headers: { "content-type": "application/json" } })),
    status: 401,
    code: "unauthorized",
  },
  {
    name: "a wrong token",
    request: () => api("/v1/jobs", { method: "POST", json: good, headers: { authorization: "Bearer wrong" } }),
    status: 401,
    code: "unauthorized",
  },
  { name: "a run id with a slash", request: () => api("/v1/jobs/a%2F..%2Fb"), status: 400, code: "invalid_run_id" },
  { name: "a run id with control characters", request: () => api("/v1/jobs/a%00b"), status: 400, code: "invalid_run_id" },
  { name: "an unknown run", request: () => api("/v1/jobs/sample-weather-20240101t000000-abcdef"), status: 404, code: "not_found" },
  { name: "an unknown run's output", request: () => api("/v1/jobs/sample-weather-20240101t000000-abcdef/output"), status: 404, code: "not_found" },
  { name: "an unknown run's manifest", request: () => api("/v1/jobs/nope/manifest"), status: 404, code: "not_found" },
  { name: "a bad task filter", request: () => api("/v1/jobs/nope/tasks?status=weird"), status: 400, code: "invalid_query" },
  { name: "a bad list limit", request: () => api("/v1/jobs?limit=0"), status: 400, code: "invalid_query" },
  { name: "a list of an unknown pipeline", request: () => api("/v1/jobs?pipeline=nope"), status: 404, code: "not_found" },
  {
    name: "a redrive of an unknown run",
    request: () => api("/v1/jobs/sample-weather-20240101t000000-abcdef/redrive", { method: "POST" }),
    status: 404,
    code: "not_found",
  },
  { name: "a redrive of a bad run id", request: () => api("/v1/jobs/..%2Fx/redrive", { method: "POST" }), status: 400, code: "invalid_run_id" },
  { name: "options out of range", request: postJson({ ...good, options: { toleratedFailurePercent: 150 } }), status: 400, code: "invalid_body" },
  { name: "an unknown option", request: postJson({ ...good, options: { turbo: true } }), status: 400, code: "invalid_body" },
  { name: "an unknown route", request: () => api("/v2/things"), status: 404, code: "not_found" },
];

describe("bad requests", () => {
  it.each(cases)("$name → $status $code", async ({ request, status, code, mentions }) => {
    const before = (await (await api("/v1/jobs")).json<{ runs: unknown[] }>()).runs.length;
    const res = await request();
    expect(res.status).toBe(status);
    const body = await res.json<{ error: { code: string; message: string } }>();
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(5);
    if (mentions) expect(JSON.stringify(body.error)).toMatch(mentions);
    const after = (await (await api("/v1/jobs")).json<{ runs: unknown[] }>()).runs.length;
    expect(after).toBe(before);
  });

  it("names the bad field in the details", async () => {
    const res = await postJson({ ...good, params: { from: "2024-01-01", to: "2024-13-01" } })();
    const body = await res.json<{ error: { details: { path: string; message: string }[] } }>();
    expect(body.error.details.map((d) => d.path)).toContain("to");
  });

  it("answers with security headers", async () => {
    const res = await api("/v1/pipelines");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");
  });
});
