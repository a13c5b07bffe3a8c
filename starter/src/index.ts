// The Worker: sluice over this project's pipelines. wrangler.toml binds the classes exported here.
import { createSluice } from "sluice";
import { orders } from "./pipelines/orders";

export const sluice = createSluice({ pipelines: [orders] });

export const { RunCoordinator, PipelineRegistry, RateLimiter } = sluice;
export default sluice.worker;
