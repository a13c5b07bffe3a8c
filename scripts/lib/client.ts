// A small typed HTTP client for the sluice API, shared by the CLI, the demo and the Node tests.
import type { RunView } from "../../src/types.ts";

export interface ClientOptions {
  baseUrl: string;
  token?: string;
}

export class ApiCallError extends Error {
  status: number;
  code: string;
  constructor(status: number, code: string, message: string) {
    super(`${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

export const TERMINAL = new Set(["succeeded", "partial", "failed", "cancelled", "timed_out"]);

export function client(options: ClientOptions) {
  const base = options.baseUrl.replace(/\/$/, "");
  const call = async (path: string, init: { method?: string; json?: unknown } = {}): Promise<Response> => {
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (init.json !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${base}${path}`, { method: init.method ?? "GET", headers, body: init.json === undefined ? undefined : JSON.stringify(init.json) });
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
      throw new ApiCallError(res.status, body.error?.code ?? "error", body.error?.message ?? res.statusText);
    }
    return res;
  };
  const json = async <T>(path: string, init?: { method?: string; json?: unknown }): Promise<T> => (await call(path, init)).json() as Promise<T>;
  return {
    call,
    json,
    submit: (pipeline: string, params: unknown, options?: unknown) =>
      json<{ id: string; status: string }>("/v1/jobs", { method: "POST", json: options === undefined ? { pipeline, params } : { pipeline, params, options } }),
    cancel: (id: string) => json<{ id: string; status: string }>(`/v1/jobs/${encodeURIComponent(id)}/cancel`, { method: "POST" }),
    run: (id: string) => json<RunView>(`/v1/jobs/${encodeURIComponent(id)}`),
    /** The run's output, or one of its gold datasets. */
    output: async (id: string, dataset?: string) =>
      new Uint8Array(await (await call(`/v1/jobs/${encodeURIComponent(id)}/output${dataset ? `?dataset=${encodeURIComponent(dataset)}` : ""}`)).arrayBuffer()),
    sampleConfig: (config: unknown) => json<unknown>("/sample/edr/_config", { method: "PUT", json: config }),
    sampleStats: () =>
      json<{ requests: number; violations: number; peakPerSecond: number; byStatus: Record<string, number>; faults: Record<string, number> }>(
        "/sample/edr/_stats",
      ),
    resetSampleStats: () => json<unknown>("/sample/edr/_stats", { method: "DELETE" }),
    /** Poll until the run ends; `onUpdate` sees every state. */
    async wait(id: string, onUpdate?: (run: RunView) => void, intervalMs = 500): Promise<RunView> {
      for (;;) {
        const run = await this.run(id);
        onUpdate?.(run);
        if (TERMINAL.has(run.status)) return run;
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    },
  };
}

export type Client = ReturnType<typeof client>;
