// Backfill requests: a range (dates, or years with quarters) cut into one window per run.
import { z } from "zod";
import type { DateWindow } from "./schedule";
import { CHUNKS, isoDate, windows } from "./windows";

export const dateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "expected a date as YYYY-MM-DD")
  .refine((s) => isoDate(Date.parse(`${s}T00:00:00Z`)) === s, "not a calendar date");

export const MAX_BACKFILL_WINDOWS = 1000;

export const backfillSchema = z
  .object({
    from: dateSchema.optional(),
    /** Exclusive. */
    to: dateSchema.optional(),
    /** The window of each run, for a from/to range. */
    window: z.enum(CHUNKS).default("month"),
    start_year: z.number().int().min(1900).max(2200).optional(),
    end_year: z.number().int().min(1900).max(2200).optional(),
    quarters: z
      .array(z.number().int().min(1).max(4))
      .min(1)
      .refine((q) => new Set(q).size === q.length, "quarters must be unique")
      .default([1, 2, 3, 4]),
    /** Pipeline params shared by every run (the seeds' `products` selection, …). */
    params: z.record(z.string(), z.unknown()).default({}),
    force_reprocess: z.boolean().default(false),
    max_parallel: z.number().int().min(1).max(50).default(2),
  })
  .strict()
  .superRefine((b, ctx) => {
    const dates = b.from !== undefined || b.to !== undefined;
    const years = b.start_year !== undefined || b.end_year !== undefined;
    if (dates === years) ctx.addIssue({ code: "custom", message: "give either from and to, or start_year and end_year", path: [] });
    if (dates && (b.from === undefined || b.to === undefined))
      ctx.addIssue({ code: "custom", message: "from and to go together", path: [b.from ? "to" : "from"] });
    if (dates && b.from && b.to && b.from >= b.to) ctx.addIssue({ code: "custom", message: "from must be before to", path: ["to"] });
    if (years && (b.start_year === undefined || b.end_year === undefined))
      ctx.addIssue({ code: "custom", message: "start_year and end_year go together", path: ["end_year"] });
    if (years && b.start_year !== undefined && b.end_year !== undefined && b.start_year > b.end_year)
      ctx.addIssue({ code: "custom", message: "start_year must not be after end_year", path: ["end_year"] });
  });

export type BackfillRequest = z.infer<typeof backfillSchema>;

/** The windows a backfill covers, oldest first, at most `limit + 1` (so callers can tell "too many"). */
export function backfillWindows(b: BackfillRequest, limit = MAX_BACKFILL_WINDOWS): DateWindow[] {
  const out: DateWindow[] = [];
  if (b.from && b.to) {
    for (const w of windows(Date.parse(`${b.from}T00:00:00Z`), Date.parse(`${b.to}T00:00:00Z`), b.window)) {
      out.push({ from: isoDate(w.start), to: isoDate(w.end) });
      if (out.length > limit) break;
    }
    return out;
  }
  for (let year = b.start_year!; year <= b.end_year! && out.length <= limit; year++) {
    for (const q of [...b.quarters].sort()) out.push({ from: isoDate(Date.UTC(year, (q - 1) * 3, 1)), to: isoDate(Date.UTC(year, q * 3, 1)) });
  }
  return out;
}
