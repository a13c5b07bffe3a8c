// jsonItems against JSON.parse, the reader it must agree with: the same items and the same rest
// for every way a body can be cut into chunks, and a SyntaxError wherever JSON.parse throws one.
import { describe, expect, it } from "vitest";
import { jsonItems } from "../../src/parsers/json-items";
import { coverageJsonRows, coverageJsonStream, type CoverageJsonOptions } from "../../src/parsers/coveragejson";

const bytesOf = (s: string) => new TextEncoder().encode(s);

/** The body in chunks of `size` bytes (a multi-byte character may be cut in two). */
async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

async function read(bytes: Uint8Array, member: string, size = bytes.length || 1) {
  const items: unknown[] = [];
  let rest: unknown;
  for await (const item of jsonItems(chunked(bytes, size), member, (r) => (rest = r))) items.push(item);
  return { items, rest };
}

// Strings that hold every delimiter, escapes (a quote, a backslash before a quote), a member
// name as a value, the same name one level down, and characters of 2, 3 and 4 bytes.
const tricky = {
  type: "CoverageCollection",
  note: 'a "coverages": [ ] , { } \\" here',
  nested: { coverages: [99, 98] },
  named: "coverages",
  coverages: [
    { id: "é,]}", values: [1, -2.5e3, null, true, false], deep: [[[{}]], []] },
    "just a string with \\\\ and \\u0041 and 日本 and 🌧",
    42,
    [],
    {},
    null,
  ],
  after: ["coverages", { x: "]" }],
};

describe("jsonItems", () => {
  it("gives JSON.parse's items and the rest, for chunks of every size from one byte", async () => {
    const text = JSON.stringify(tricky, null, 1); // whitespace between every token
    const bytes = bytesOf(text);
    const expected = JSON.parse(text) as typeof tricky;
    for (let size = 1; size <= bytes.length; size += size < 40 ? 1 : 97) {
      const { items, rest } = await read(bytes, "coverages", size);
      expect(items, `chunks of ${size}`).toEqual(expected.coverages);
      expect(rest, `chunks of ${size}`).toEqual({ ...expected, coverages: [] });
    }
  });

  it("finds only the root's member, and none when it is absent", async () => {
    expect((await read(bytesOf('{"a":"pages","x":{"pages":[1]},"pages":[2,3]}'), "pages")).items).toEqual([2, 3]);
    const absent = await read(bytesOf('{"type":"Coverage","id":"s1"}'), "pages");
    expect(absent).toEqual({ items: [], rest: { type: "Coverage", id: "s1" } });
    expect((await read(bytesOf('{"pages":{"a":[1]}}'), "pages")).items).toEqual([]); // not an array: no items
  });

  it("throws where JSON.parse would: every cut-short body, and bad separators", async () => {
    const text = JSON.stringify(tricky);
    const bytes = bytesOf(text);
    for (let end = 0; end < bytes.length; end++) {
      await expect(read(bytes.slice(0, end), "coverages", 7), `cut at ${end}`).rejects.toThrow(SyntaxError);
    }
    for (const bad of ['[{"pages":[1]}]', '{"pages":[1,]}', '{"pages":[,1]}', '{"pages":[1 2]}', '{"pages":[1]} {}', '{"pages":[1]]', '{"pages":[1],}']) {
      await expect(read(bytesOf(bad), "pages"), bad).rejects.toThrow(SyntaxError);
    }
  });
});

describe("coverageJsonStream", () => {
  const options: CoverageJsonOptions = { keyColumn: "station", timeColumn: "at", parameters: ["t", "rh"], missingAsNull: true };
  const coverage = (id: string, hours: number) => ({
    type: "Coverage",
    id,
    domain: { axes: { t: { values: Array.from({ length: hours }, (_, i) => new Date(Date.UTC(2024, 0, 1, i)).toISOString()) } } },
    ranges: { t: { values: Array.from({ length: hours }, (_, i) => (i % 5 === 0 ? null : i / 10)) } },
  });
  const streamed = async (text: string, size: number) => {
    const rows: unknown[] = [];
    for await (const piece of coverageJsonStream(chunked(bytesOf(text), size), options)) rows.push(...piece);
    return rows;
  };

  it("makes the rows coverageJsonRows makes, from a collection or a single coverage", async () => {
    const collection = JSON.stringify({ type: "CoverageCollection", coverages: [coverage("s1", 30), coverage("s2", 7), coverage("s3", 0)] });
    const single = JSON.stringify(coverage("s9", 12));
    for (const text of [collection, single]) {
      const rows = [...coverageJsonRows(text, options)];
      expect(rows.length).toBeGreaterThan(0);
      for (const size of [1, 13, 4096]) expect(await streamed(text, size)).toEqual(rows);
    }
  });

  it("refuses what coverageJsonRows refuses", async () => {
    for (const text of ['{"type":"CoverageCollection"}', '{"coverages":[{"id":1}]}', '{"coverages":[{"id":"a","domain":{"axes":{"t":{"values":["x"]}}},"ranges":{"t":{"values":[1,2]}}}]}']) {
      expect(() => [...coverageJsonRows(text, options)]).toThrow(SyntaxError);
      await expect(streamed(text, 5)).rejects.toThrow(SyntaxError);
    }
  });
});
