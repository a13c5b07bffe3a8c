// Parsers for what JSON, NDJSON and CSV APIs send. Each returns rows keyed by column name;
// the pipeline's row schema then types and validates them in silver.
import type { Row } from "../arrow/columns";
import type { ColumnSpec } from "../arrow/columns";

/** Follow a dotted path (`data.items`) into parsed JSON. */
export function atPath(value: unknown, path: string): unknown {
  if (path === "") return value;
  return path.split(".").reduce<unknown>((v, key) => (typeof v === "object" && v !== null ? (v as Record<string, unknown>)[key] : undefined), value);
}

/** A JSON array of records, or an object holding one at `recordsPath`. */
export function parseJsonRecords(body: string, recordsPath = ""): Row[] {
  const records = atPath(JSON.parse(body), recordsPath);
  if (!Array.isArray(records)) throw new SyntaxError(`JSON: ${recordsPath || "the body"} is not an array of records`);
  return records.map((r, i) => {
    if (typeof r !== "object" || r === null || Array.isArray(r)) throw new SyntaxError(`JSON: record ${i} is not an object`);
    return r as Row;
  });
}

/** One JSON object per line; blank lines are skipped. */
export function parseNdjson(body: string): Row[] {
  return body
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line, i) => {
      const value: unknown = JSON.parse(line);
      if (typeof value !== "object" || value === null || Array.isArray(value)) throw new SyntaxError(`NDJSON: line ${i + 1} is not an object`);
      return value as Row;
    });
}

/** RFC 4180 fields: quotes, doubled quotes inside them, commas and newlines in quoted fields. */
function csvRecords(text: string, delimiter: string): string[][] {
  const records: string[][] = [];
  let field = "";
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') ((field += '"'), i++);
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === "") quoted = true;
    else if (ch === delimiter) (record.push(field), (field = ""));
    else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      record.push(field);
      records.push(record);
      record = [];
      field = "";
    } else field += ch;
  }
  if (quoted) throw new SyntaxError("CSV: unterminated quoted field");
  if (field !== "" || record.length > 0) (record.push(field), records.push(record));
  return records.filter((r) => !(r.length === 1 && r[0] === ""));
}

function typed(value: string, column: ColumnSpec | undefined): unknown {
  if (value === "") return null;
  switch (column?.type) {
    case "float64":
    case "int32":
    case "int64": {
      const n = Number(value);
      return Number.isFinite(n) ? n : value;
    }
    case "bool":
      return value === "true" || value === "1" ? true : value === "false" || value === "0" ? false : value;
    case "timestamp": {
      const t = Date.parse(value);
      return Number.isFinite(t) ? new Date(t) : value;
    }
    default:
      return value;
  }
}

/** CSV with a header row; values are typed by the pipeline's columns (empty → null). */
export function parseCsv(body: string, columns: readonly ColumnSpec[], delimiter = ","): Row[] {
  const [header, ...records] = csvRecords(body, delimiter);
  if (!header) return [];
  const specs = new Map(columns.map((c) => [c.name, c]));
  return records.map((fields, i) => {
    if (fields.length !== header.length) throw new SyntaxError(`CSV: record ${i + 1} has ${fields.length} fields, the header ${header.length}`);
    return Object.fromEntries(header.map((name, j) => [name, typed(fields[j]!, specs.get(name))]));
  });
}
