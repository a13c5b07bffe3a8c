// The all-knowing client the limits matrix compares sluice with (test/limit-ceiling.ts).
import { describe, expect, it } from "vitest";
import { UpstreamLimits } from "../../src/sample/limit-algorithms";
import { ceilingSpanMs } from "../limit-ceiling";

describe("the all-knowing client's span", () => {
  it("alone on a sliding log of 20 a second: bursts of 20 (one a millisecond), a second apart", () => {
    expect(ceilingSpanMs([{ algorithm: "sliding-log", requests: 20, perMs: 1_000 }], 200, 0)).toBe(9_000 + 19);
  });

  it("beside a client taking 10 of the 20 a second: 10 a second, whatever the algorithm counts", () => {
    for (const algorithm of ["sliding-log", "fixed-window", "sliding-counter", "token-bucket"] as const) {
      const span = ceilingSpanMs([{ algorithm, requests: 20, perMs: 1_000 }], 200, 10);
      expect(span, algorithm).toBeGreaterThan(17_000);
      expect(span, algorithm).toBeLessThan(20_000);
    }
  });

  it("tries each request on a copy: the copy counts it, the upstream copied does not", () => {
    const upstream = new UpstreamLimits([{ algorithm: "sliding-log", requests: 1, perMs: 1_000 }]);
    const copy = upstream.copy();
    expect(copy.admit(10)).toBe(0);
    expect(copy.admit(20)).toBeGreaterThan(0);
    expect(upstream.admit(20)).toBe(0);
  });
});
