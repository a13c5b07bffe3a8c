// A typed client for TypeScript users: Hono's RPC client over the app's own route types.
//   const sluice = sluiceClient("https://sluice.example.workers.dev", token);
//   const run = await (await sluice.v1.jobs[":id"].$get({ param: { id } })).json();
import { hc } from "hono/client";
import type { App } from "./app";

export function sluiceClient(baseUrl: string, token?: string, fetchImpl?: typeof fetch) {
  return hc<App>(baseUrl, { headers: token ? { authorization: `Bearer ${token}` } : {}, ...(fetchImpl ? { fetch: fetchImpl } : {}) });
}

export type SluiceClient = ReturnType<typeof sluiceClient>;
