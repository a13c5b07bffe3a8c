// Each quality check on crafted data, passing and failing.
import { describe, expect, it } from "vitest";
import { check, type BatchProfile } from "../../src/quality/checks";
import { evaluateQuality, type ProfiledBatch } from "../../src/quality/evaluate";
import { flagOutliers, profileRows } from "../../src/quality/profile";

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);

function rows(station: string, hours: number, skip: number[] = [], values: (i: number) => number | null = (i) => i % 10) {
  return Array.from({ length: hours }, (_, i) => i)
    .filter((i) => !skip.includes(i))
    .map((i) => ({ station_id: station, observed_at: new Date(T0 + i * HOUR), temperature: values(i) }));
}

function profiled(batchId: string, data: ReturnType<typeof rows>, checks = all, window = { start: T0, end: T0 + 24 * HOUR }, keys?: string[]): ProfiledBatch {
  const flags = flagOutliers(data, checks, ["station_id", "observed_at"]);
  const profile: BatchProfile = profileRows(data, ["station_id", "observed_at", "temperature", "quality_flags"], "s", checks, flags);
  return { batchId, profile, window, keys };
}

const all = [
  check.minRows(40, "run"),
  check.minRows(20, "batch"),
  check.maxNullPercent("temperature", 10),
  check.minDistinct("station_id", 2),
  check.continuity("station_id", "observed_at", HOUR),
  check.schema(),
  check.valueRange("temperature", { min: -40, max: 45 }, 1, "fatal"),
];

const outcome = (report: ReturnType<typeof evaluateQuality>, name: string) => report.checks.find((c) => c.name === name)!;

describe("quality checks", () => {
  it("all pass on complete, plausible data", () => {
    const report = evaluateQuality(all, [profiled("b0", rows("A", 24)), profiled("b1", rows("B", 24))], "s");
    expect(report.checks).toHaveLength(all.length);
    expect(report.checks.filter((c) => !c.passed).map((c) => c.name)).toEqual([]);
    expect(report.passed).toBe(true);
    expect(report.reason).toBeNull();
  });

  it("minRows per run and per batch", () => {
    const report = evaluateQuality(all, [profiled("b0", rows("A", 24)), profiled("b1", rows("B", 10))], "s");
    expect(outcome(report, "minRows(run)")).toMatchObject({ value: 34, threshold: 40, passed: false });
    expect(outcome(report, "minRows(batch)")).toMatchObject({ passed: false, offending: ["b1 (10 rows)"] });
    expect(report.passed).toBe(false);
    expect(report.reason).toBe("quality check minRows(run) failed: measured 34, threshold 40");
  });

  it("maxNullPercent", () => {
    const nulls = rows("A", 24, [], (i) => (i < 6 ? null : 1));
    const report = evaluateQuality(all, [profiled("b0", nulls), profiled("b1", rows("B", 24))], "s");
    expect(outcome(report, "maxNullPercent(temperature)")).toMatchObject({ value: 12.5, threshold: 10, passed: false, offending: ["b0 (25%)"] });
  });

  it("minDistinct counts keys across batches", () => {
    const report = evaluateQuality(all, [profiled("b0", rows("A", 24)), profiled("b1", rows("A", 24))], "s");
    expect(outcome(report, "minDistinct(station_id)")).toMatchObject({ value: 1, threshold: 2, passed: false });
  });

  it("continuity finds missing hours and the windows they are in", () => {
    const report = evaluateQuality(all, [profiled("b0", rows("A", 24, [3, 17])), profiled("b1", rows("B", 24))], "s");
    const c = outcome(report, "continuity(station_id,observed_at)");
    expect(c).toMatchObject({ value: 2, passed: false, offendingCount: 1 });
    expect(c.offending[0]).toBe("A 2024-01-01T00Z/2024-01-02T00Z: 2 of 24 missing");
  });

  it("continuity notices a live key a batch asked for but did not get", () => {
    const report = evaluateQuality(
      all,
      [
        profiled("b0", [...rows("A", 24), ...rows("B", 24)], all, undefined, ["A", "B"]),
        profiled("b1", rows("A", 24), all, { start: T0 + 24 * HOUR, end: T0 + 48 * HOUR }, ["A", "B"]),
      ],
      "s",
    );
    const c = outcome(report, "continuity(station_id,observed_at)");
    expect(c.passed).toBe(false);
    expect(c.offending.some((o) => o.startsWith("B 2024-01-02T00Z"))).toBe(true);
  });

  it("schema conformance", () => {
    const report = evaluateQuality(all, [profiled("b0", rows("A", 24))], "other");
    expect(outcome(report, "schema")).toMatchObject({ passed: false, value: "differs" });
  });

  it("valueRange flags outliers in a column without dropping them", () => {
    const data = rows("A", 24, [], (i) => (i === 5 ? 61.5 : i === 6 ? -55 : 10));
    const batch = profiled("b0", data);
    expect(data).toHaveLength(24);
    expect(data[5]!).toMatchObject({ temperature: 61.5, quality_flags: "temperature_out_of_range" });
    expect(data[4]!).toMatchObject({ quality_flags: null });
    const report = evaluateQuality(all, [batch, profiled("b1", rows("B", 24))], "s");
    const c = outcome(report, "valueRange(temperature)");
    expect(c).toMatchObject({ value: 4.17, threshold: 1, passed: false, offendingCount: 2 });
    expect(c.offending[0]).toContain("temperature=61.5");
  });

  it("a failed warn check does not fail the report", () => {
    const warnOnly = [check.minDistinct("station_id", 5, "warn")];
    const report = evaluateQuality(warnOnly, [profiled("b0", rows("A", 24), warnOnly)], "s");
    expect(report.checks[0]!.passed).toBe(false);
    expect(report.passed).toBe(true);
  });

  it("bounds the offending sample", () => {
    const batches = Array.from({ length: 30 }, (_, i) => profiled(`b${i}`, rows("A", 5)));
    const c = outcome(evaluateQuality(all, batches, "s"), "minRows(batch)");
    expect(c.offendingCount).toBe(30);
    expect(c.offending).toHaveLength(20);
  });
});
