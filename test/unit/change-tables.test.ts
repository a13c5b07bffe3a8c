// The history arithmetic of src/gold/changes.ts on small cases: a late change put in its place,
// a delete that closes a key and an insert that opens it again, repeats ignored.
import { describe, expect, it } from "vitest";
import type { ColumnSpec, Row } from "../../src/arrow/columns";
import { applyChanges, checkChanges, type ChangesDefinition } from "../../src/gold/changes";

const silver: ColumnSpec[] = [
  { name: "id", type: "string", nullable: false },
  { name: "seq", type: "int64", nullable: false },
  { name: "op", type: "string", nullable: false },
  { name: "at", type: "timestamp", nullable: false },
  { name: "city", type: "string", nullable: true },
];
const def: ChangesDefinition = { key: ["id"], sequence: "seq", at: "at", operation: { column: "op", deletes: ["delete"] } };
const change = (id: string, seq: number, op: string, city: string | null): Row => ({ id, seq, op, at: new Date(Date.UTC(2025, 0, 1) + seq * 60_000), city });
const minute = (seq: number | null) => (seq === null ? null : new Date(Date.UTC(2025, 0, 1) + seq * 60_000));
const view = (rows: Row[]) => rows.map((r) => [r.id, r.seq, r.op, r.city, r.valid_from, r.valid_to, r.is_current]);

describe("current and history from changes", () => {
  it("puts a late change in its place and recomputes the validity around it", () => {
    const first = applyChanges(def, [], [change("a", 1, "insert", "Kiel"), change("a", 5, "update", "Bremen")]);
    const late = applyChanges(def, first.history, [change("a", 3, "update", "Mainz")]);
    expect(view(late.history)).toEqual([
      ["a", 1, "insert", "Kiel", minute(1), minute(3), false],
      ["a", 3, "update", "Mainz", minute(3), minute(5), false],
      ["a", 5, "update", "Bremen", minute(5), null, true],
    ]);
    expect(late.current.map((r) => [r.id, r.city, r.valid_from])).toEqual([["a", "Bremen", minute(5)]]);
    expect(late.added).toBe(1);
  });

  it("leaves a deleted key out of current, keeps the delete in history, and opens the key again on a later insert", () => {
    const deleted = applyChanges(def, [], [change("b", 1, "insert", "Kiel"), change("b", 2, "delete", null), change("c", 1, "insert", "Erfurt")]);
    expect(deleted.current.map((r) => r.id)).toEqual(["c"]);
    expect(view(deleted.history).filter((r) => r[0] === "b")).toEqual([
      ["b", 1, "insert", "Kiel", minute(1), minute(2), false],
      ["b", 2, "delete", null, minute(2), null, false],
    ]);
    const back = applyChanges(def, deleted.history, [change("b", 4, "insert", "Rostock")]);
    expect(back.current.map((r) => [r.id, r.city])).toEqual([
      ["b", "Rostock"],
      ["c", "Erfurt"],
    ]);
  });

  it("ignores a change whose key and sequence are already there, the one stored first staying", () => {
    const first = applyChanges(def, [], [change("d", 1, "insert", "Kiel")]);
    const before = view(first.history);
    const repeat = applyChanges(def, first.history, [change("d", 1, "insert", "Somewhere else"), change("d", 1, "insert", "Kiel")]);
    expect(repeat.duplicates).toBe(2);
    expect(repeat.added).toBe(0);
    expect(view(repeat.history)).toEqual(before);
    expect(before).toEqual([["d", 1, "insert", "Kiel", minute(1), null, true]]);
  });

  it("refuses a definition naming columns silver does not have, or of the wrong type", () => {
    expect(() => checkChanges("p", { ...def, key: ["nope"] }, silver)).toThrow(/key column nope is not a silver column/);
    expect(() => checkChanges("p", { ...def, sequence: "city" }, silver)).toThrow(/sequence column city must be a number or timestamp/);
    expect(() => checkChanges("p", { ...def, at: "seq" }, silver)).toThrow(/at column seq must be a timestamp/);
    expect(() => checkChanges("p", { ...def, at: undefined }, silver)).toThrow(/at column seq must be a timestamp/);
    expect(() => checkChanges("p", { ...def, operation: { column: "seq", deletes: ["x"] } }, silver)).toThrow(/operation column seq must be a string/);
    expect(() => checkChanges("p", def, [...silver, { name: "valid_to", type: "timestamp", nullable: true }])).toThrow(/silver has a column valid_to/);
  });
});
