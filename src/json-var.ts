// A Worker variable that holds JSON (SLUICE_SOURCE_LIMITS, SLUICE_SCHEDULES): parsed and checked
// with its schema when first read, the result kept while the text is the same. A bad value throws
// naming the variable and what is wrong, rather than running with the wrong settings.
import type { z } from "zod";

export function jsonVar<T extends z.ZodType>(name: string, schema: T): (raw: string) => z.infer<T> {
  let cached: { raw: string; value: z.infer<T> } | undefined;
  return (raw) => {
    if (cached?.raw === raw) return cached.value;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      throw new Error(`${name} is not JSON`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new Error(`${name} is not valid: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    cached = { raw, value: parsed.data };
    return parsed.data;
  };
}
