// This repository's own Worker (wrangler dev, the tests, the demo): sluice over the sample
// pipelines, with the sample upstream they read. A user's entry file looks the same with their
// pipelines and without the sample (see the starter, `npx sluice init`).
import { catalogPipelines } from "./pipelines";
import { sampleDaily } from "./flows/sample-daily";
import { sampleChain } from "./flows/sample-chain";
import { sampleShop } from "./flows/sample-shop";
import { sample } from "./routes/sample";
import { createSluice } from "./sluice";

export const sluice = createSluice({ pipelines: catalogPipelines, flows: [sampleDaily, sampleChain, sampleShop], routes: { "/sample": sample } });

export const { RunCoordinator, PipelineRegistry, RateLimiter, FlowCoordinator } = sluice;
export { SampleUpstream } from "../durable-objects/sample-upstream";
export default sluice.worker;
