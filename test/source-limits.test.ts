// Per-deployment overrides of an upstream's limits (SLUICE_SOURCE_LIMITS).
import { describe, expect, it } from "vitest";
import { getPipeline } from "../src/pipelines";
import { sourceFor } from "../src/pipelines/source-limits";

describe("source limits", () => {
  const declared = getPipeline("sample-weather").source;

  it("keeps the declared limits when nothing overrides them", () => {
    expect(sourceFor({}, declared)).toBe(declared);
    expect(sourceFor({ SLUICE_SOURCE_LIMITS: JSON.stringify({ "other-api": { perSecond: 1 } }) }, declared)).toEqual(declared);
  });

  it("overrides the rate and the concurrency of the named source only, keeping the rest", () => {
    const s = sourceFor({ SLUICE_SOURCE_LIMITS: JSON.stringify({ "sample-edr": { perSecond: 200, burst: 20, concurrency: 8 } }) }, declared);
    expect(s.rateLimit).toEqual({ ...declared.rateLimit, perSecond: 200, burst: 20 });
    expect(s.concurrency).toBe(8);
    expect(s.baseUrl).toBe(declared.baseUrl);
    expect(declared.rateLimit.perSecond).toBe(50); // the pipeline's own object is untouched
  });

  it.each([
    ["not json", "{"],
    ["unknown field", JSON.stringify({ "sample-edr": { perMinute: 5 } })],
    ["zero rate", JSON.stringify({ "sample-edr": { perSecond: 0 } })],
    ["fractional concurrency", JSON.stringify({ "sample-edr": { concurrency: 1.5 } })],
  ])("fails loudly on a bad value: %s", (_name, raw) => {
    expect(() => sourceFor({ SLUICE_SOURCE_LIMITS: raw }, declared)).toThrow(/SLUICE_SOURCE_LIMITS/);
  });
});
