// The README's pipeline example is real code: it compiles (test/readme-example.ts) and plans.
import { describe, expect, it } from "vitest";
import readme from "../README.md?raw";
import example from "./readme-example.ts?raw";
import { meterReadings } from "./readme-example";

describe("README", () => {
  it("shows the pipeline example that compiles here", () => {
    const body = example.split("\n").slice(1).join("\n").replaceAll("../src/quality/checks", "../quality/checks").replaceAll("../src/pipelines/define", "./define").replaceAll("../src/pipelines/windows", "./windows");
    expect(readme).toContain(body.trim());
  });

  it("plans meters × months", () => {
    const batches = [...meterReadings.plan({ meters: ["m-1", "m-2"], from: "2024-01-01", to: "2024-03-01" })];
    expect(batches.map((b) => b.partition)).toEqual(["meter=m-1/month=2024-01", "meter=m-2/month=2024-01", "meter=m-1/month=2024-02", "meter=m-2/month=2024-02"]);
    expect(meterReadings.columns.map((c) => `${c.name}:${c.type}`)).toEqual(["meter_id:string", "read_at:timestamp", "kwh:float64", "quality_flags:string"]);
  });
});
