// Every pipeline this deployment runs. Adding one: write its file, add it here, deploy.
import type { Pipeline } from "./define";
import { sampleWeather } from "./sample-weather";

export const PIPELINES: readonly Pipeline[] = [sampleWeather];

const BY_NAME = new Map(PIPELINES.map((p) => [p.name, p]));

export function findPipeline(name: string): Pipeline | undefined {
  return BY_NAME.get(name);
}

export function getPipeline(name: string): Pipeline {
  const pipeline = BY_NAME.get(name);
  if (!pipeline) throw new Error(`unknown pipeline ${name}`);
  return pipeline;
}
