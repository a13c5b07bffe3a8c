// The Worker: sluice over this project's pipelines. wrangler.toml binds the classes exported here.
import { createSluice } from "sluice";
import { orders } from "./pipelines/orders";

export const sluice = createSluice({ pipelines: [orders] });

export const { RunCoordinator, PipelineRegistry, RateLimiter } = sluice;
// With flows (createSluice({ pipelines, flows })), export FlowCoordinator too and bind it as
// FLOW_COORDINATOR: the config test says what wrangler.toml then needs.
export default sluice.worker;
