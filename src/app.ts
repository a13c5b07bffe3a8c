// The HTTP API: Hono, every error in one JSON shape.
import { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import type { Env } from "./env";
import { ApiError, errorBody, errorResponse } from "./errors";
import { requireToken } from "./http/auth";
import { dashboard } from "./routes/dashboard";
import { docs } from "./routes/docs";
import { jobs } from "./routes/jobs";
import { pipelines } from "./routes/pipelines";
import { sample } from "./routes/sample";

export const app = new Hono<{ Bindings: Env }>()
  .use(secureHeaders())
  .get("/health", (c) => c.json({ ok: true }))
  .route("/", docs)
  .use("/runs/*", requireToken())
  .use("/", async (c, next) => (c.req.path === "/" ? requireToken()(c, next) : next()))
  .route("/", dashboard)
  .route("/sample", sample)
  .use("/v1/*", requireToken())
  .route("/v1/jobs", jobs)
  .route("/v1/pipelines", pipelines);

app.notFound((c) => c.json(errorBody("not_found", `no route ${c.req.method} ${new URL(c.req.url).pathname}`), 404));

app.onError((err, c) => {
  if (err instanceof ApiError) return errorResponse(c, err);
  console.error("unhandled error", err);
  return c.json(errorBody("internal", "internal error; the server log has details"), 500);
});

export type App = typeof app;
