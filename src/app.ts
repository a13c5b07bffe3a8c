// The HTTP API: Hono, every error in one JSON shape, over one deployment's catalog.
import { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import type { Catalog } from "./catalog";
import type { Api } from "./http/context";
import { ApiError, errorBody, errorResponse, refusalOf } from "./errors";
import { requireToken } from "./http/auth";
import { dashboard } from "./routes/dashboard";
import { flowPages } from "./routes/flow-pages";
import { docs } from "./routes/docs";
import { flows } from "./routes/flows";
import { jobs } from "./routes/jobs";
import { pipelines } from "./routes/pipelines";

/** Routes a deployment adds beside sluice's own (the sample upstream under /sample), by path. */
export type Mounts = Record<string, Hono<Api>>;

/** The API over `catalog`: the dashboard, /v1/jobs, /v1/pipelines, the docs, and `mounts`. */
export function createApp(catalog: Catalog, mounts: Mounts = {}) {
  const app = new Hono<Api>()
    .use(secureHeaders())
    .use(async (c, next) => {
      c.set("catalog", catalog);
      await next();
    })
    .get("/health", (c) => c.json({ ok: true }))
    .route("/", docs)
    .use("/runs/*", requireToken())
    .use("/flows", requireToken())
    .use("/flows/*", requireToken())
    .use("/", async (c, next) => (c.req.path === "/" ? requireToken()(c, next) : next()))
    .route("/", dashboard)
    .route("/", flowPages);
  for (const [path, routes] of Object.entries(mounts)) app.route(path, routes);
  const api = app.use("/v1/*", requireToken()).route("/v1/jobs", jobs).route("/v1/pipelines", pipelines).route("/v1/flows", flows);

  api.notFound((c) => c.json(errorBody("not_found", `no route ${c.req.method} ${new URL(c.req.url).pathname}`), 404));
  api.onError((err, c) => {
    if (err instanceof ApiError) return errorResponse(c, err);
    const refused = refusalOf(err);
    if (refused) return errorResponse(c, refused);
    console.error("unhandled error", err);
    return c.json(errorBody("internal", "internal error; the server log has details"), 500);
  });
  return api;
}

/** The API's type, for the typed client (`hc<App>`). */
export type App = ReturnType<typeof createApp>;
