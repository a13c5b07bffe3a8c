// Every pipeline this deployment runs. Adding one: write its file, add it here, deploy.
import type { Pipeline } from "./define";
import { checkSharedSources } from "./source-limits";
import { samplePosts } from "./sample-posts";
import { sampleWeather } from "./sample-weather";

const DEPLOYED: readonly Pipeline[] = [sampleWeather, samplePosts];
checkSharedSources(DEPLOYED);
const BY_NAME = new Map(DEPLOYED.map((p) => [p.name, p]));

/** Every pipeline of this deployment (and any registered by tests). */
export const PIPELINES: Pipeline[] = [...DEPLOYED];

/** Add a pipeline at run time: for tests that define their own; deployments list theirs above. */
export function registerPipeline(pipeline: Pipeline): void {
  if (BY_NAME.has(pipeline.name)) return;
  checkSharedSources([...PIPELINES, pipeline]);
  BY_NAME.set(pipeline.name, pipeline);
  PIPELINES.push(pipeline);
}

export function findPipeline(name: string): Pipeline | undefined {
  return BY_NAME.get(name);
}

export function getPipeline(name: string): Pipeline {
  const pipeline = BY_NAME.get(name);
  if (!pipeline) throw new Error(`unknown pipeline ${name}`);
  return pipeline;
}
