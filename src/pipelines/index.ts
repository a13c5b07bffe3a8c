// Every pipeline this deployment runs. Adding one: write its file, add it here, deploy.
import type { Env } from "../env";
import { SAMPLE_ORIGIN, sampleEnabled } from "../upstream/fetch";
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

/** A pipeline that reads the sample upstream (the sample pipelines): it runs only where that is enabled. */
export const readsSample = (pipeline: Pipeline) => pipeline.source.baseUrl.startsWith(SAMPLE_ORIGIN);

/**
 * The pipelines this environment runs: the sample ones only where the sample upstream is
 * enabled (locally, staging), never in production, where they would fail a run every day.
 */
export function runnablePipelines(env: Pick<Env, "SAMPLE_UPSTREAM">): Pipeline[] {
  return sampleEnabled(env) ? PIPELINES : PIPELINES.filter((p) => !readsSample(p));
}

/** A pipeline this environment runs, by name. */
export function runnablePipeline(env: Pick<Env, "SAMPLE_UPSTREAM">, name: string): Pipeline | undefined {
  const pipeline = findPipeline(name);
  return pipeline && (sampleEnabled(env) || !readsSample(pipeline)) ? pipeline : undefined;
}
