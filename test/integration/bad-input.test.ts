// A table of bad requests: every answer is a 4xx with the standard error body, never a 5xx,
// and nothing is created or changed.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sluice } from "../../src/index";

const { app } = sluice;
import { api } from "../helpers";

interface Case {
  name: string;
  send: () => Promise<Response>;
}

const GOOD = { from: "2024-01-01", to: "2024-02-01" };
const post = (path: string, json: unknown) => () => api(path, { method: "POST", json });
const raw =
  (path: string, body: BodyInit | undefined, headers: Record<string, string>, method = "POST") =>
  () =>
    api(path, { method, body, headers });
const job = (params: unknown, extra: Record<string, unknown> = {}) => post("/v1/jobs", { pipeline: "sample-weather", params, ...extra });

const wrongValues: [string, unknown][] = [
  ["a number", 42],
  ["a boolean", true],
  ["null", null],
  ["an array", [1, 2]],
  ["an object", { a: 1 }],
  ["an empty string", ""],
  ["a long string", "x".repeat(5000)],
  ["a negative number", -1],
  ["a fraction", 1.5],
  ["a control character", "a\u0000b"],
];

const params: Record<string, unknown[]> = {
  stations: [
    "10000",
    [],
    [1],
    ["1234"],
    ["../x"],
    ["10000", "10000"],
    Array.from({ length: 101 }, (_, i) => String(10000 + i)),
    [null],
    ["10000/"],
    ["１００００"],
  ],
  from: ["2024/01/01", "", 20240101, "2024-13-01", "2024-02-30", "abc", "2024-1-1", null, "2024-01-01T00:00:00Z", " 2024-01-01"],
  to: ["2024/02/01", "", 20240201, "2024-00-01", "2023-02-29", "2024-01-01", "1999-12-31", null],
  chunk: ["week", 1, "", "MONTH", null, ["month"]],
  stationsPerBatch: [0, 101, 1.5, "2", -3, null],
  products: [[], ["wind"], ["temperature", "temperature"], "temperature", [1], null],
  temperatureUnit: ["kelvin", "", 1, null, "Celsius"],
};

const options: Record<string, unknown[]> = {
  toleratedFailurePercent: [-1, 101, "5", null],
  retryPasses: [-1, 6, 1.5, "1"],
  maxAttempts: [0, 21, "3", 2.5],
  force: ["yes", 1, null],
  timeoutMs: [0, -5, 10 ** 12, "1000"],
};

const ids = ["..", "a/b", "a%2Fb", "UPPER", "a%00b", "a%0Ab", "-leading", "trailing-", "a b", "a.b", "%E2%80%8B", "x".repeat(200), "a%5Cb"];

const cases: Case[] = [
  // Bodies that are not JSON, not UTF-8, too large, or sent as something else.
  { name: "malformed JSON", send: raw("/v1/jobs", "{", { "content-type": "application/json" }) },
  { name: "JSON with a trailing comma", send: raw("/v1/jobs", '{"pipeline":"sample-weather",}', { "content-type": "application/json" }) },
  { name: "an empty body", send: raw("/v1/jobs", "", { "content-type": "application/json" }) },
  { name: "no content type", send: raw("/v1/jobs", JSON.stringify({ pipeline: "sample-weather", params: GOOD }), {}) },
  { name: "text/plain", send: raw("/v1/jobs", JSON.stringify({ pipeline: "sample-weather", params: GOOD }), { "content-type": "text/plain" }) },
  { name: "a form", send: raw("/v1/jobs", "pipeline=sample-weather", { "content-type": "application/x-www-form-urlencoded" }) },
  { name: "multipart", send: raw("/v1/jobs", "--x\r\n\r\n--x--", { "content-type": "multipart/form-data; boundary=x" }) },
  { name: "application/jsonx", send: raw("/v1/jobs", "{}", { "content-type": "application/jsonx" }) },
  { name: "non-UTF-8 bytes", send: raw("/v1/jobs", new Uint8Array([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]), { "content-type": "application/json" }) },
  {
    name: "a huge body",
    send: raw("/v1/jobs", JSON.stringify({ pipeline: "sample-weather", params: { ...GOOD, pad: "x".repeat(400_000) } }), {
      "content-type": "application/json",
    }),
  },
  { name: "a huge array", send: job({ ...GOOD, stations: Array.from({ length: 20_000 }, () => "10000") }) },
  { name: "a declared huge length", send: raw("/v1/jobs", "{}", { "content-type": "application/json", "content-length": "999999999" }) },
  // The envelope.
  ...wrongValues.map(([what, v]) => ({ name: `pipeline as ${what}`, send: post("/v1/jobs", { pipeline: v, params: GOOD }) })),
  ...wrongValues.filter(([, v]) => typeof v !== "object" || v === null || Array.isArray(v)).map(([what, v]) => ({ name: `params as ${what}`, send: job(v) })),
  ...wrongValues
    .filter(([, v]) => typeof v !== "object" || v === null || Array.isArray(v))
    .map(([what, v]) => ({ name: `options as ${what}`, send: job(GOOD, { options: v }) })),
  { name: "a body that is an array", send: post("/v1/jobs", [{ pipeline: "sample-weather" }]) },
  { name: "a body that is a string", send: post("/v1/jobs", "sample-weather") },
  { name: "a body that is null", send: post("/v1/jobs", null) },
  { name: "an unknown top-level field", send: job(GOOD, { priority: 1 }) },
  { name: "an unknown pipeline", send: post("/v1/jobs", { pipeline: "no-such-pipeline", params: GOOD }) },
  { name: "a pipeline name with a path", send: post("/v1/jobs", { pipeline: "../sample-weather", params: GOOD }) },
  // Every param of sample-weather, wrong.
  ...Object.entries(params).flatMap(([field, values]) =>
    values
      .filter((v) => !(field === "stations" && v === "10000" && false))
      .map((v, i) => ({ name: `params.${field} #${i} ${JSON.stringify(v)?.slice(0, 30)}`, send: job({ ...GOOD, [field]: v }) })),
  ),
  ...["from", "to"].map((field) => ({ name: `missing params.${field}`, send: job({ [field === "from" ? "to" : "from"]: "2024-01-01" }) })),
  { name: "from after to", send: job({ from: "2024-03-01", to: "2024-02-01" }) },
  { name: "from equal to to", send: job({ from: "2024-03-01", to: "2024-03-01" }) },
  { name: "a range over 100 years", send: job({ from: "1900-01-01", to: "2024-01-01" }) },
  { name: "more batches than a run may plan", send: job({ from: "1950-01-01", to: "2024-01-01", chunk: "day", stationsPerBatch: 1 }) },
  { name: "an unknown param", send: job({ ...GOOD, region: "north" }) },
  // Every run option, wrong.
  ...Object.entries(options).flatMap(([field, values]) =>
    values.map((v, i) => ({ name: `options.${field} #${i} ${JSON.stringify(v)}`, send: job(GOOD, { options: { [field]: v } }) })),
  ),
  { name: "an unknown option", send: job(GOOD, { options: { turbo: true } }) },
  // Run ids in every path that takes one.
  ...ids.flatMap((id) =>
    ["", "/tasks", "/manifest", "/output"].map((suffix) => ({ name: `GET run id ${id.slice(0, 20)}${suffix}`, send: () => api(`/v1/jobs/${id}${suffix}`) })),
  ),
  ...ids.flatMap((id) =>
    ["/cancel", "/redrive", "/phases/silver/rerun"].map((suffix) => ({
      name: `POST run id ${id.slice(0, 20)}${suffix}`,
      send: () => api(`/v1/jobs/${id}${suffix}`, { method: "POST" }),
    })),
  ),
  // Queries.
  ...["limit=0", "limit=201", "limit=abc", "limit=-1", "status=done", "cursor=abc", "cursor=1:..%2Fx", "pipeline=nope"].map((q) => ({
    name: `GET /v1/jobs?${q}`,
    send: () => api(`/v1/jobs?${q}`),
  })),
  ...["status=weird", "phase=gold", "limit=0", "limit=1001", "cursor=-1", "cursor=x"].map((q) => ({
    name: `GET tasks?${q}`,
    send: () => api(`/v1/jobs/sample-weather-20240101t000000-abcdef/tasks?${q}`),
  })),
  // Re-runs.
  ...["ingest", "gold", "SILVER", "..", "%2F"].map((phase) => ({
    name: `rerun phase ${phase}`,
    send: () => api(`/v1/jobs/sample-weather-20240101t000000-abcdef/phases/${phase}/rerun`, { method: "POST" }),
  })),
  { name: "rerun of an unknown run", send: post("/v1/jobs/sample-weather-20240101t000000-abcdef/phases/silver/rerun", { params: {} }) },
  { name: "rerun with a bad body", send: post("/v1/jobs/sample-weather-20240101t000000-abcdef/phases/silver/rerun", { params: [], extra: 1 }) },
  // Backfills.
  ...[
    {},
    { from: "2021-01-01" },
    { to: "2021-01-01" },
    { from: "2021-02-01", to: "2021-01-01" },
    { from: "2021-01-01", to: "2021-02-01", start_year: 2021, end_year: 2021 },
    { start_year: 2021 },
    { start_year: 2022, end_year: 2021 },
    { start_year: 1800, end_year: 1801 },
    { start_year: 2021, end_year: 2021, quarters: [5] },
    { start_year: 2021, end_year: 2021, quarters: [] },
    { start_year: 2021, end_year: 2021, quarters: [1, 1] },
    { start_year: 2021, end_year: 2021, max_parallel: 0 },
    { start_year: 2021, end_year: 2021, max_parallel: 51 },
    { start_year: 2021, end_year: 2021, force_reprocess: "yes" },
    { start_year: 2021, end_year: 2021, params: { chunk: "week" } },
    { start_year: 2021, end_year: 2021, params: { stations: ["bad"] } },
    { start_year: 2021, end_year: 2021, params: "x" },
    { from: "2000-01-01", to: "2020-01-01", window: "day" },
    { from: "2021-01-01", to: "2021-02-01", window: "fortnight" },
    { start_year: 2021, end_year: 2021, surprise: true },
  ].map((body, i) => ({ name: `backfill #${i} ${JSON.stringify(body).slice(0, 50)}`, send: post("/v1/pipelines/sample-weather/backfill", body) })),
  { name: "backfill of an unknown pipeline", send: post("/v1/pipelines/nope/backfill", { start_year: 2021, end_year: 2021 }) },
  { name: "backfill as text", send: raw("/v1/pipelines/sample-weather/backfill", "{}", { "content-type": "text/plain" }) },
  { name: "a bad backfill id", send: () => api("/v1/pipelines/sample-weather/backfills/..%2Fx") },
  { name: "an unknown backfill", send: () => api("/v1/pipelines/sample-weather/backfills/bf-20200101t000000-abcd") },
  { name: "pause an unknown pipeline", send: () => api("/v1/pipelines/nope/pause", { method: "POST" }) },
  // Methods and routes.
  ...(["PUT", "PATCH", "DELETE"] as const).flatMap((method) =>
    ["/v1/jobs", "/v1/jobs/sample-weather-20240101t000000-abcdef", "/v1/pipelines", "/v1/pipelines/sample-weather/backfill"].map((path) => ({
      name: `${method} ${path}`,
      send: () => api(path, { method }),
    })),
  ),
  { name: "GET a POST-only route", send: () => api("/v1/jobs/sample-weather-20240101t000000-abcdef/cancel") },
  { name: "an unknown version", send: () => api("/v2/jobs") },
  // Tokens.
  {
    name: "no token",
    send: () => exports.default.fetch(new Request("http://x/v1/jobs", { method: "POST", body: "{}", headers: { "content-type": "application/json" } })),
  },
  {
    name: "a wrong token",
    send: () => api("/v1/jobs", { method: "POST", json: { pipeline: "sample-weather", params: GOOD }, headers: { authorization: "Bearer nope" } }),
  },
  {
    name: "a Basic token",
    send: () => api("/v1/jobs", { method: "POST", json: { pipeline: "sample-weather", params: GOOD }, headers: { authorization: "Basic dGVzdDp0ZXN0" } }),
  },
  { name: "a token with a prefix of the real one", send: () => api("/v1/jobs", { method: "POST", json: {}, headers: { authorization: "Bearer test" } }) },
];

async function counts() {
  const runs = await (await api("/v1/jobs?limit=200")).json<{ runs: unknown[] }>();
  const state = await (await api("/v1/pipelines/sample-weather")).json<{ state: { backfills: string[]; paused: boolean } }>();
  return { runs: runs.runs.length, backfills: state.state.backfills.length, paused: state.state.paused };
}

describe("bad input", () => {
  it(`has at least 200 cases (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(200);
  });

  it("answers every bad request with a 4xx in the standard shape, and changes nothing", async () => {
    const before = await counts();
    const failures: string[] = [];
    for (const c of cases) {
      const res = await c.send();
      const text = await res.text();
      let body: { error?: { code?: unknown; message?: unknown } } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        // not JSON: reported below
      }
      const ok =
        res.status >= 400 &&
        res.status < 500 &&
        typeof body.error?.code === "string" &&
        typeof body.error?.message === "string" &&
        String(body.error.message).length > 5;
      if (!ok) failures.push(`${c.name}: ${res.status} ${text.slice(0, 120)}`);
    }
    expect(failures).toEqual([]);
    expect(await counts()).toEqual(before);
  });
});

describe("security", () => {
  it("needs the token for reads unless the deployment opts into public reads", async () => {
    const closed = { ...env, PUBLIC_READS: "false" };
    const res = await app.fetch(new Request("http://x/v1/jobs"), closed);
    expect(res.status).toBe(401);
    const dashboard = await app.fetch(new Request("http://x/"), closed);
    expect(dashboard.status).toBe(401);
    const ok = await app.fetch(new Request("http://x/v1/jobs", { headers: { authorization: "Bearer test-token" } }), closed);
    expect(ok.status).toBe(200);
  });

  it("refuses every mutation when no token is configured", async () => {
    const res = await app.fetch(
      new Request("http://x/v1/jobs", { method: "POST", body: "{}", headers: { "content-type": "application/json", authorization: "Bearer " } }),
      { ...env, SLUICE_API_TOKEN: undefined },
    );
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: "auth_not_configured" } });
  });

  it("never serves the sample upstream where it is not enabled, whatever the request says", async () => {
    const prod = { ...env, SAMPLE_UPSTREAM: "disabled" };
    for (const [method, path] of [
      ["GET", "/sample/edr/collections/hourly/locations"],
      ["GET", "/sample/social/accounts/1/posts"],
      ["PUT", "/sample/edr/_config"],
      ["GET", "/sample/edr/_stats"],
      ["POST", "/sample/hooks/x"],
    ] as const) {
      const res = await app.fetch(new Request(`http://x${path}?SAMPLE_UPSTREAM=enabled`, { method, headers: { "x-sample-upstream": "enabled" } }), prod);
      expect(res.status).toBe(404);
    }
  });

  it("sends security headers", async () => {
    const res = await api("/");
    for (const h of ["x-content-type-options", "x-frame-options", "referrer-policy", "strict-transport-security"]) expect(res.headers.get(h)).not.toBeNull();
  });
});
