// What every route sees: the Worker's bindings, and the deployment's catalog of pipelines
// (set once per request by the app createSluice builds).
import type { Catalog } from "../catalog";
import type { Env } from "../env";

export interface Api {
  Bindings: Env;
  Variables: { catalog: Catalog };
}
