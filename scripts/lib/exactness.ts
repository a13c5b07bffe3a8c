// Is a served output exact? Its bytes against the sha256 the API names, and its rows (read by
// DuckDB) against the upstream's own rows (newline-delimited JSON): rows, duplicate keys, keys
// missing or extra, and rows whose values differ.
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "./client.ts";
import { literal, type Duck } from "./duckdb.ts";

export interface Exactness {
  rows: number;
  expected: number;
  duplicateKeys: number;
  /** Keys the upstream has and the output lacks, and the other way round. */
  missing: number;
  extra: number;
  /** Keys present in both whose values differ. */
  differing: number;
  /** The bytes served hash to the sha256 the API names. */
  hashMatches: boolean;
  exact: boolean;
}

export interface Expected {
  /** The upstream's rows, one JSON object a line. */
  lines: string[];
  /** DuckDB types of the JSON columns; a `TIMESTAMPTZ` column is read as text and cast. */
  columns: Record<string, string>;
  key: string[];
}

/** Download run `runId`'s output into `dir` and compare it with the upstream's rows. */
export async function compareOutput(api: Client, runId: string, expected: Expected, duck: Duck, dir: string): Promise<Exactness> {
  const res = await api.call(`/v1/jobs/${encodeURIComponent(runId)}/output`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const hashMatches = createHash("sha256").update(bytes).digest("hex") === res.headers.get("x-sluice-sha256");
  const output = join(dir, `${runId}.parquet`);
  const upstream = join(dir, `${runId}-upstream.ndjson`);
  writeFileSync(output, bytes);
  writeFileSync(upstream, expected.lines.join("\n") + "\n");
  const entries = Object.entries(expected.columns);
  const read = `{${entries.map(([c, t]) => `${c}: '${t === "TIMESTAMPTZ" ? "VARCHAR" : t}'`).join(", ")}}`;
  const casts = entries.filter(([, t]) => t === "TIMESTAMPTZ").map(([c]) => `${c}::TIMESTAMPTZ AS ${c}`);
  const got = `read_parquet(${literal(output)})`;
  const json = `read_json(${literal(upstream)}, format = 'newline_delimited', columns = ${read})`;
  const want = `(SELECT * ${casts.length ? `REPLACE (${casts.join(", ")})` : ""} FROM ${json})`;
  const key = expected.key.join(", ");
  const values = entries.map(([c]) => c).filter((c) => !expected.key.includes(c));
  const differs = values.map((c) => `g.${c} IS DISTINCT FROM w.${c}`).join(" OR ") || "false";
  const [r] = await duck.all<Record<string, number>>(`
    SELECT
      (SELECT count(*) FROM ${got}) AS rows,
      (SELECT count(*) FROM ${want}) AS expected,
      (SELECT count(*) - count(DISTINCT (${key})) FROM ${got}) AS duplicate_keys,
      (SELECT count(*) FROM ${want} w ANTI JOIN ${got} g USING (${key})) AS missing,
      (SELECT count(*) FROM ${got} g ANTI JOIN ${want} w USING (${key})) AS extra,
      (SELECT count(*) FROM ${got} g JOIN ${want} w USING (${key}) WHERE ${differs}) AS differing`);
  const n = (k: string) => Number(r?.[k] ?? NaN);
  const result = {
    rows: n("rows"),
    expected: n("expected"),
    duplicateKeys: n("duplicate_keys"),
    missing: n("missing"),
    extra: n("extra"),
    differing: n("differing"),
    hashMatches,
  };
  return { ...result, exact: result.rows === result.expected && result.duplicateKeys + result.missing + result.extra + result.differing === 0 && hashMatches };
}
