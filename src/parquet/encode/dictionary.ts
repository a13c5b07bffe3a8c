// A column chunk's dictionary: its distinct values (as the rows where each first appears) and,
// for every value, its index. Built with an open-addressing hash table over the values' bytes,
// one loop per kind of value so each stays monomorphic; given up once the distinct values pass a
// bound, or early when the first values are nearly all distinct (plain encoding is as small then).
import type { EncoderColumn } from "./column";

/** Valid until the next dictionary is built: its arrays are reused. */
export interface Dictionary {
  /** Row of each distinct value, in order of first appearance. */
  entries: Int32Array;
  /** Index into entries of each value (nulls skipped). */
  indices: Int32Array;
}

/** After this many values, a chunk with more than half of them distinct gets no dictionary. */
const PROBE = 4_096;
/**
 * A string dictionary stops at about this many bytes (UTF-16 units and a 4-byte length an entry):
 * its page is one page, never split, and past this plain pages compress as well.
 */
export const MAX_DICTIONARY_BYTES = 1 << 20;

// One dictionary is built and used at a time (encodeChunk): its arrays are reused, not reallocated.
let table = new Int32Array(0);
let entryRows = new Int32Array(0);
let indexes = new Int32Array(0);

/** An empty table (-1 in every slot) of a power of two at least twice `maxDistinct`. */
function emptyTable(maxDistinct: number): Int32Array {
  let capacity = 16;
  while (capacity < 2 * maxDistinct) capacity *= 2;
  if (table.length < capacity) table = new Int32Array(capacity);
  const t = table.subarray(0, capacity);
  t.fill(-1);
  return t;
}

/** The entries' and indices' arrays for a chunk of `count` values. */
function arrays(count: number, maxDistinct: number): { entries: Int32Array; indices: Int32Array } {
  if (entryRows.length < Math.min(maxDistinct, count)) entryRows = new Int32Array(Math.min(maxDistinct, count));
  if (indexes.length < count) indexes = new Int32Array(count);
  return { entries: entryRows, indices: indexes };
}

const done = (entries: Int32Array, indices: Int32Array, distinct: number, count: number): Dictionary => ({
  entries: entries.subarray(0, distinct),
  indices: indices.subarray(0, count),
});

const hopeless = (k: number, distinct: number) => k === PROBE && distinct > PROBE >> 1;

function wideDictionary(words: Int32Array, present: Int32Array | undefined, count: number, maxDistinct: number): Dictionary | undefined {
  const slots = emptyTable(maxDistinct);
  const mask = slots.length - 1;
  const shift = 32 - Math.log2(slots.length);
  const { entries, indices } = arrays(count, maxDistinct);
  let distinct = 0;
  for (let k = 0; k < count; k++) {
    if (hopeless(k, distinct)) return undefined;
    const row = present ? present[k]! : k;
    const lo = words[2 * row]!;
    const hi = words[2 * row + 1]!;
    // Fibonacci hashing: the top bits of the product.
    let at = Math.imul(Math.imul(lo, 0x9e3779b1) ^ hi, 0x85ebca6b) >>> shift;
    let index = slots[at]!;
    while (index !== -1) {
      const other = 2 * entries[index]!;
      if (words[other] === lo && words[other + 1] === hi) break;
      at = (at + 1) & mask;
      index = slots[at]!;
    }
    if (index === -1) {
      if (distinct === maxDistinct) return undefined;
      index = distinct++;
      entries[index] = row;
      slots[at] = index;
    }
    indices[k] = index;
  }
  return done(entries, indices, distinct, count);
}

function narrowDictionary(words: Int32Array, present: Int32Array | undefined, count: number, maxDistinct: number): Dictionary | undefined {
  const slots = emptyTable(maxDistinct);
  const mask = slots.length - 1;
  const shift = 32 - Math.log2(slots.length);
  const { entries, indices } = arrays(count, maxDistinct);
  let distinct = 0;
  for (let k = 0; k < count; k++) {
    if (hopeless(k, distinct)) return undefined;
    const row = present ? present[k]! : k;
    const v = words[row]!;
    let at = Math.imul(v, 0x9e3779b1) >>> shift;
    let index = slots[at]!;
    while (index !== -1 && words[entries[index]!] !== v) {
      at = (at + 1) & mask;
      index = slots[at]!;
    }
    if (index === -1) {
      if (distinct === maxDistinct) return undefined;
      index = distinct++;
      entries[index] = row;
      slots[at] = index;
    }
    indices[k] = index;
  }
  return done(entries, indices, distinct, count);
}

function textDictionary(texts: readonly (string | undefined)[], present: Int32Array | undefined, count: number, maxDistinct: number): Dictionary | undefined {
  const seen = new Map<string, number>();
  const { entries, indices } = arrays(count, maxDistinct);
  let previous: string | undefined; // runs of one value skip the map
  let previousIndex = -1;
  let bytes = 0;
  for (let k = 0; k < count; k++) {
    if (hopeless(k, seen.size)) return undefined;
    const row = present ? present[k]! : k;
    const text = texts[row]!;
    if (text === previous) {
      indices[k] = previousIndex;
      continue;
    }
    let index = seen.get(text);
    if (index === undefined) {
      if (seen.size === maxDistinct) return undefined;
      bytes += 4 + text.length;
      if (bytes > MAX_DICTIONARY_BYTES) return undefined;
      index = seen.size;
      seen.set(text, index);
      entries[index] = row;
    }
    indices[k] = index;
    previous = text;
    previousIndex = index;
  }
  return done(entries, indices, seen.size, count);
}

/**
 * The chunk's dictionary, or undefined when it has more than `maxDistinct` distinct values (or is
 * a boolean column, which plain encoding packs a bit a value).
 */
export function buildDictionary(column: EncoderColumn, maxDistinct: number): Dictionary | undefined {
  const { words, present, count } = column;
  if (words && column.stride === 2) return wideDictionary(words, present, count, maxDistinct);
  if (words && column.stride === 1) return narrowDictionary(words, present, count, maxDistinct);
  if (column.texts) return textDictionary(column.texts, present, count, maxDistinct);
  return undefined;
}
