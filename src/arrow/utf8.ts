// Strings ↔ an Arrow string column's bytes, without a buffer or a call into the runtime per value:
// TextEncoder.encode makes an ArrayBuffer for every string and TextDecoder.decode is a call per
// value, which cost most of the time of turning rows to columns and back (a million unique keys:
// seconds). Writing encodes every string into one buffer in JavaScript; reading decodes a column
// of ASCII (the usual case: ids, codes, timestamps as text) in one call and slices it.

const decoder = new TextDecoder();

const NON_ASCII = /[^\x00-\x7f]/;

/** The length of `text` in UTF-8 (a lone surrogate counts 3, as U+FFFD). */
export function utf8Length(text: string): number {
  if (!NON_ASCII.test(text)) return text.length;
  let bytes = 0;
  for (let j = 0; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00 && j + 1 < text.length && (text.charCodeAt(j + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      j++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Every string of `texts` (undefined: null, no bytes) as UTF-8, one after another, and the offsets
 * of each (length + 1). Lone surrogates become U+FFFD, as TextEncoder does.
 */
export function encodeUtf8(texts: readonly (string | undefined)[]): { offsets: Int32Array; data: Uint8Array } {
  const offsets = new Int32Array(texts.length + 1);
  let chars = 0;
  for (const text of texts) chars += text?.length ?? 0;
  // Room for every char as one byte; grown when a wider one comes. Invariant: room for what is
  // written plus a byte per char not yet written.
  let data = new Uint8Array(Math.max(16, chars));
  let at = 0;
  let charsBefore = 0;
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i];
    if (text !== undefined) {
      const length = text.length;
      for (let j = 0; j < length; j++) {
        let c = text.charCodeAt(j);
        if (c < 0x80) {
          data[at++] = c;
          continue;
        }
        const need = at + 4 + (chars - charsBefore - j);
        if (need > data.length) {
          const grown = new Uint8Array(Math.max(need, data.length * 2));
          grown.set(data.subarray(0, at));
          data = grown;
        }
        if (c < 0x800) {
          data[at++] = 0xc0 | (c >> 6);
          data[at++] = 0x80 | (c & 0x3f);
          continue;
        }
        if (c >= 0xd800 && c <= 0xdfff) {
          const d = j + 1 < length ? text.charCodeAt(j + 1) : 0;
          if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
            const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            data[at++] = 0xf0 | (cp >> 18);
            data[at++] = 0x80 | ((cp >> 12) & 0x3f);
            data[at++] = 0x80 | ((cp >> 6) & 0x3f);
            data[at++] = 0x80 | (cp & 0x3f);
            j++;
            continue;
          }
          c = 0xfffd;
        }
        data[at++] = 0xe0 | (c >> 12);
        data[at++] = 0x80 | ((c >> 6) & 0x3f);
        data[at++] = 0x80 | (c & 0x3f);
      }
      charsBefore += length;
    }
    offsets[i + 1] = at;
  }
  return { offsets, data: data.subarray(0, at) };
}

/**
 * The `count` strings of a string column's bytes and offsets (offsets[0] where the first begins);
 * `valid(i)` false → null. An ASCII column's values are slices of one string: they keep it alive
 * while any of them lives, about the column's bytes.
 */
export function decodeUtf8(data: Uint8Array, offsets: Int32Array, count: number, valid: (i: number) => boolean): (string | null)[] {
  const out: (string | null)[] = new Array(count);
  const start = offsets[0]!;
  const end = offsets[count]!;
  let ascii = true;
  for (let k = start; k < end; k++) {
    if (data[k]! > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    // One char per byte: the column decoded once, each value a slice of it.
    const all = decoder.decode(data.subarray(start, end));
    for (let i = 0; i < count; i++) out[i] = valid(i) ? all.slice(offsets[i]! - start, offsets[i + 1]! - start) : null;
  } else {
    for (let i = 0; i < count; i++) out[i] = valid(i) ? decoder.decode(data.subarray(offsets[i]!, offsets[i + 1]!)) : null;
  }
  return out;
}
