// The README's pipeline example, compiled with the tests (its import paths adjusted to test/).
import { z } from "zod";
import { check } from "../src/quality/checks";
import { definePipeline } from "../src/pipelines/define";
import { windows, isoDate } from "../src/pipelines/windows";

export const meterReadings = definePipeline({
  name: "meter-readings",
  description: "Hourly readings per meter from the utility's API.",
  params: z.object({ meters: z.array(z.string()).min(1), from: z.string(), to: z.string() }).strict(),
  source: { name: "utility-api", baseUrl: "https://api.example.com/v2", rateLimit: [{ requests: 20, per: "1s" }, { requests: 50_000, per: "1h" }], concurrency: 16, timeoutMs: 30_000 },
  *plan(params) {
    for (const { start, end } of windows(Date.parse(params.from), Date.parse(params.to), "month"))
      for (const meter of params.meters)
        yield { partition: `meter=${meter}/month=${isoDate(start).slice(0, 7)}`, data: { meter, start: isoDate(start), end: isoDate(end) } };
  },
  request: (batch, source) => ({ url: `${source.baseUrl}/meters/${String(batch.data.meter)}/readings?from=${String(batch.data.start)}&to=${String(batch.data.end)}` }),
  parse: (body) => (JSON.parse(body) as { readings: { meter: string; at: string; kwh: number | null }[] }).readings.map((r) => ({ meter_id: r.meter, read_at: new Date(r.at), kwh: r.kwh })),
  rowSchema: z.object({ meter_id: z.string(), read_at: z.date(), kwh: z.number().min(0).nullable() }),
  key: ["meter_id", "read_at"],
  quality: [check.schema(), check.minRows(1, "batch"), check.maxNullPercent("kwh", 2), check.valueRange("kwh", { max: 500 })],
  schedules: [{ name: "daily", cron: "0 6 * * *", window: "previous-day", params: (w) => ({ meters: ["m-1", "m-2"], ...w }) }],
  toleratedFailurePercent: 5,
});
