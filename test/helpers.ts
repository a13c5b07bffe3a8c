import { env, exports } from "cloudflare:workers";
import { vi } from "vitest";
import type { RunView } from "../src/types";
import type { Pipeline } from "../src/pipelines/define";
import { sluice } from "../src/index";

/** Add a test's own pipeline to the deployment the tests run (src/index.ts); adding it again does nothing. */
export const registerPipeline = (pipeline: Pipeline) => sluice.catalog.add(pipeline);
/** A pipeline of that deployment, by name. */
export const getPipeline = (name: string) => sluice.catalog.get(name);

export const TOKEN = "test-token";

export function api(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("authorization")) headers.set("authorization", `Bearer ${TOKEN}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  return exports.default.fetch(new Request(`http://sluice.test${path}`, { ...init, headers, body }));
}

export async function configureSample(config: Record<string, unknown>): Promise<void> {
  const res = await api("/sample/edr/_config", { method: "PUT", json: config });
  if (!res.ok) throw new Error(`sample config: ${res.status} ${await res.text()}`);
  await api("/sample/edr/_stats", { method: "DELETE" });
}

export async function sampleStats(): Promise<{ requests: number; violations: number; byStatus: Record<string, number> }> {
  return (await api("/sample/edr/_stats")).json();
}

export async function submit(pipeline: string, params: Record<string, unknown>): Promise<string> {
  const res = await api("/v1/jobs", { method: "POST", json: { pipeline, params } });
  if (res.status !== 202) throw new Error(`submit: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

export async function getRun(id: string): Promise<RunView> {
  return (await api(`/v1/jobs/${id}`)).json();
}

const TERMINAL = ["succeeded", "partial", "failed", "cancelled", "timed_out"];

/** Wait (on the run's state, not the clock) until the run has ended. */
export async function waitForRun(id: string, timeout = 90_000): Promise<RunView> {
  return vi.waitUntil(
    async () => {
      const run = await getRun(id);
      return TERMINAL.includes(run.status) ? run : false;
    },
    { timeout, interval: 50 },
  );
}

export { env };
