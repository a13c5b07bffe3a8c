// HyperLogLog (Flajolet et al., 2007) for distinct counts past the exact bound: 2^12 registers of
// 6 bits' worth (kept as bytes), so a standard error of 1.04/√4096 ≈ 1.6%, and a merge that is a
// register-wise max — any merge order gives the same sketch. Values are hashed with 64 bits of
// MurmurHash3 (two 32-bit seeds), so the sketch does not saturate at billions of values.

import { fmix32 } from "../hash";

export const HLL_BITS = 12;
const M = 1 << HLL_BITS;
/** The sketch's relative standard error. */
export const HLL_ERROR = 1.04 / Math.sqrt(M);

/** MurmurHash3's 32-bit hash of a string's UTF-16 code units. */
function murmur3(text: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    let k = text.charCodeAt(i);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return fmix32(h ^ text.length);
}

export function newSketch(): Uint8Array {
  return new Uint8Array(M);
}

export function addToSketch(registers: Uint8Array, value: string): void {
  const index = murmur3(value, 0x9747b28c) >>> (32 - HLL_BITS);
  const rest = murmur3(value, 0x5bd1e995);
  const rank = rest === 0 ? 33 : Math.clz32(rest) + 1;
  if (rank > registers[index]!) registers[index] = rank;
}

export function mergeSketches(into: Uint8Array, other: Uint8Array): void {
  for (let i = 0; i < M; i++) if (other[i]! > into[i]!) into[i] = other[i]!;
}

/** The estimated number of distinct values added, with the small-range correction (linear counting). */
export function estimate(registers: Uint8Array): number {
  let sum = 0;
  let zeros = 0;
  for (let i = 0; i < M; i++) {
    sum += 2 ** -registers[i]!;
    if (registers[i] === 0) zeros++;
  }
  const alpha = 0.7213 / (1 + 1.079 / M);
  const raw = (alpha * M * M) / sum;
  return raw <= 2.5 * M && zeros > 0 ? M * Math.log(M / zeros) : raw;
}

export const sketchToText = (registers: Uint8Array) => btoa(String.fromCharCode(...registers));
export const sketchFromText = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
