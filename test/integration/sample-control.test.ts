// The sample upstream's control is the deployment's own: changing its config, resetting its
// counters or posting to its webhook receiver needs the API token (issue 15, item 3), and the
// receiver keeps bounded deliveries under bounded names.
import { describe, expect, it } from "vitest";
import { api } from "../helpers";

const anonymous = { authorization: "" };
const withoutToken = (path: string, init: RequestInit & { json?: unknown } = {}) => api(path, { ...init, headers: { ...anonymous, ...(init.headers ?? {}) } });

describe("sample upstream control", () => {
  it.each([
    ["PUT", "/sample/edr/_config", { latencyMs: 0 }],
    ["DELETE", "/sample/edr/_stats", undefined],
    ["POST", "/sample/hooks/anyone", { hello: "world" }],
    ["DELETE", "/sample/hooks/anyone", undefined],
  ] as const)("%s %s without the token → 401, nothing changed", async (method, path, json) => {
    const before = await (await api("/sample/edr/_config")).json();
    const res = await withoutToken(path, { method, json });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: "unauthorized" } });
    expect(await (await api("/sample/edr/_config")).json()).toEqual(before);
    expect(((await (await api("/sample/hooks/anyone")).json()) as { received: unknown[] }).received).toEqual([]);
  });

  it("with the token: config changes and deliveries are kept; a body over 64 KiB is refused", async () => {
    expect((await api("/sample/edr/_config", { method: "PUT", json: { latencyMs: 0 } })).status).toBe(200);
    expect((await api("/sample/hooks/kept", { method: "POST", json: { n: 1 } })).status).toBe(200);
    const big = await api("/sample/hooks/kept", { method: "POST", json: { pad: "x".repeat(70_000) } });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: { code: "body_too_large" } });
    expect(((await (await api("/sample/hooks/kept")).json()) as { received: unknown[] }).received).toEqual([{ n: 1 }]);
    expect((await api(`/sample/hooks/${"a".repeat(65)}`, { method: "POST", json: {} })).status).toBe(404);
  });

  it("serves its data without the token, as a public API would", async () => {
    const res = await withoutToken("/sample/edr/collections/hourly/locations");
    expect(res.status).toBe(200);
  });
});
