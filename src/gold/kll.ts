// Quantiles past what a task can hold: a KLL sketch (Karnin, Lang & Liberty, "Optimal Quantile
// Approximation in Streams", 2016). Values sit in levels; a value at level h stands for 2^h of
// the input. When the sketch outgrows its capacity, the lowest full level is sorted and every
// other value (odd or even positions, by a coin) moves up a level, so the total weight is kept
// exactly and a rank moves by at most 2^h per compaction, half the time up, half down. Level
// capacities shrink by 2/3 going down from the top, so the sketch holds about 3k values whatever
// the input's size, and two sketches merge by joining their levels and compacting again — in any
// order, which is what the merge tree needs. With k = 200 the rank error of any quantile stays
// under KLL_RANK_ERROR (the measured worst is well below: test/unit/quantiles.test.ts); up to k
// values the sketch holds every value and the quantile is exact.
//
// The coin is a counter hashed (not Math.random), so one input in one merge order always makes
// one sketch: re-running a gold dataset from the same silver gives the same figures.
import { fmix32 } from "../hash";

export const KLL_K = 200;
/** The largest error in rank (as a share of the values) a quantile of this sketch may have. */
export const KLL_RANK_ERROR = 0.02;
const SHRINK = 2 / 3;

/** A sketch as JSON: `levels[h]` holds values of weight 2^h; `coins` counts compactions. */
export interface Kll {
  n: number;
  levels: number[][];
  coins: number;
}

export const newKll = (): Kll => ({ n: 0, levels: [[]], coins: 0 });

function capacity(h: number, height: number): number {
  return Math.max(2, Math.ceil(KLL_K * SHRINK ** (height - h - 1)));
}

const size = (s: Kll) => s.levels.reduce((n, l) => n + l.length, 0);

/** Compact the lowest full level into the next until the sketch fits its capacity. */
function compress(s: Kll): void {
  for (;;) {
    const height = s.levels.length;
    let room = 0;
    for (let h = 0; h < height; h++) room += capacity(h, height);
    if (size(s) < room) return;
    const h = s.levels.findIndex((level, i) => level.length >= capacity(i, height));
    if (h < 0) return;
    if (h + 1 === height) s.levels.push([]);
    const level = s.levels[h]!.sort((a, b) => a - b);
    // An odd one out stays where it is; the rest go up in pairs, one of each pair kept.
    const keep = level.length % 2 === 1 ? [level.pop()!] : [];
    const offset = fmix32(Math.imul(s.coins++, 0x9e3779b1)) & 1;
    const up = s.levels[h + 1]!;
    for (let i = offset; i < level.length; i += 2) up.push(level[i]!);
    s.levels[h] = keep;
  }
}

export function addToKll(s: Kll, value: number): void {
  s.levels[0]!.push(value);
  s.n++;
  if (s.levels[0]!.length >= capacity(0, s.levels.length)) compress(s);
}

/** Fold `other` into `s`. */
export function mergeKll(s: Kll, other: Kll): void {
  other.levels.forEach((level, h) => {
    while (s.levels.length <= h) s.levels.push([]);
    s.levels[h]!.push(...level);
  });
  s.n += other.n;
  s.coins += other.coins;
  compress(s);
}

/** The smallest value whose rank (the weight at or below it) reaches q of the whole; null when empty. */
export function quantileOfKll(s: Kll, q: number): number | null {
  if (s.n === 0) return null;
  const weighted: [number, number][] = s.levels.flatMap((level, h) => level.map((v): [number, number] => [v, 2 ** h]));
  weighted.sort((a, b) => a[0] - b[0]);
  const target = Math.max(1, Math.ceil(q * s.n - 1e-9));
  let rank = 0;
  for (const [v, w] of weighted) {
    rank += w;
    if (rank >= target) return v;
  }
  return weighted.at(-1)![0];
}
