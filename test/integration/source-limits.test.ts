// One limit per source per deployment: per-deployment overrides (SLUICE_SOURCE_LIMITS), and
// conflicting declarations of one source refused.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { getPipeline, registerPipeline } from "../helpers";
import { definePipeline } from "../../src/pipelines/define";
import { checkSharedSources, sourceFor } from "../../src/pipelines/source-limits";

describe("source limits", () => {
  const declared = getPipeline("sample-weather").source;

  it("keeps the declared limits when nothing overrides them", () => {
    expect(sourceFor({}, declared)).toBe(declared);
    expect(sourceFor({ SLUICE_SOURCE_LIMITS: JSON.stringify({ "other-api": { concurrency: 1 } }) }, declared)).toEqual(declared);
  });

  it("overrides the windows and the in-flight bound of the named source only, keeping the rest", () => {
    const windows = [
      { requests: 200, per: "1s" },
      { requests: 20, per: "100ms", burst: 20 },
    ];
    const s = sourceFor({ SLUICE_SOURCE_LIMITS: JSON.stringify({ "sample-edr": { rateLimit: windows, concurrency: 8 } }) }, declared);
    expect(s.rateLimit).toEqual(windows);
    expect(s.concurrency).toBe(8);
    expect(s.baseUrl).toBe(declared.baseUrl);
    expect(declared.rateLimit[0]).toEqual({ requests: 50, per: "1s" }); // the pipeline's own object is untouched
  });

  it.each([
    ["not json", "{"],
    ["unknown field", JSON.stringify({ "sample-edr": { perMinute: 5 } })],
    ["zero requests", JSON.stringify({ "sample-edr": { rateLimit: [{ requests: 0, per: "1s" }] } })],
    ["no unit", JSON.stringify({ "sample-edr": { rateLimit: [{ requests: 5, per: "60" }] } })],
    ["no windows", JSON.stringify({ "sample-edr": { rateLimit: [] } })],
    ["fractional concurrency", JSON.stringify({ "sample-edr": { concurrency: 1.5 } })],
  ])("fails loudly on a bad value: %s", (_name, raw) => {
    expect(() => sourceFor({ SLUICE_SOURCE_LIMITS: raw }, declared)).toThrow(/SLUICE_SOURCE_LIMITS/);
  });
});

describe("one limit per source", () => {
  const pipelineOn = (name: string, rateLimit: { requests: number; per: "1s" | "1h" }[], concurrency = 32) =>
    definePipeline({
      name,
      description: "a second pipeline on the sample weather source",
      params: z.object({}),
      source: { ...getPipeline("sample-weather").source, rateLimit, concurrency },
      *plan() {},
      request: () => ({ url: "http://sample-upstream.sluice.internal/sample/edr/collections/hourly/locations" }),
      parse: () => [],
      rowSchema: z.object({ id: z.string() }),
      key: ["id"],
    });

  it("accepts pipelines that declare a source alike", () => {
    const same = pipelineOn("edr-alike", [
      { requests: 50, per: "1s" },
      { requests: 100_000, per: "1h" },
    ]);
    expect(() => checkSharedSources([getPipeline("sample-weather"), same])).not.toThrow();
  });

  it.each([
    ["other windows", pipelineOn("edr-faster", [{ requests: 500, per: "1s" }])],
    [
      "another in-flight bound",
      pipelineOn(
        "edr-wider",
        [
          { requests: 50, per: "1s" },
          { requests: 100_000, per: "1h" },
        ],
        64,
      ),
    ],
  ])("refuses a second declaration of one source with %s, naming both pipelines", (_name, conflicting) => {
    expect(() => checkSharedSources([getPipeline("sample-weather"), conflicting])).toThrow(/sample-edr.*sample-weather.*edr-/);
    expect(() => registerPipeline(conflicting)).toThrow(/declared with different limits/);
  });

  it("refuses a declaration that is not a limit when the pipeline is defined", () => {
    expect(() => pipelineOn("edr-bad", [{ requests: 50, per: "1 second" as "1s" }])).toThrow(/rateLimit is not valid/);
  });
});
