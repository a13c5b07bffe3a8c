// The quantile sketch (src/gold/kll.ts) against the exact quantiles of its input: exact while it
// holds every value, within its stated rank error past that, in any merge order and through JSON.
import { describe, expect, it } from "vitest";
import { KLL_K, KLL_RANK_ERROR, addToKll, mergeKll, newKll, quantileOfKll, type Kll } from "../../src/gold/kll";

/** A reproducible stream: skewed (a sum of squares), with repeats. */
function values(n: number, seed: number): number[] {
  let x = seed >>> 0;
  const next = () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return Array.from({ length: n }, () => Math.round(next() ** 2 * 10_000) / 10);
}

const sketchOf = (vs: number[]) => vs.reduce((s, v) => (addToKll(s, v), s), newKll());
const viaJson = (s: Kll): Kll => JSON.parse(JSON.stringify(s)) as Kll;

/** How far `v`'s rank in `sorted` is from q: 0 when some position of v (ties) sits at q. */
function rankError(sorted: number[], v: number, q: number): number {
  let below = 0;
  while (below < sorted.length && sorted[below]! < v) below++;
  let atOrBelow = below;
  while (atOrBelow < sorted.length && sorted[atOrBelow] === v) atOrBelow++;
  const lo = below / sorted.length;
  const hi = atOrBelow / sorted.length;
  return q < lo ? lo - q : q > hi ? q - hi : 0;
}

const QS = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99];

describe("quantile sketch", () => {
  it("is exact while it holds every value", () => {
    const vs = values(KLL_K - 1, 1);
    const sorted = [...vs].sort((a, b) => a - b);
    const s = sketchOf(vs);
    for (const q of [...QS, 1]) expect(quantileOfKll(s, q)).toBe(sorted[Math.ceil(q * vs.length) - 1]);
    expect(quantileOfKll(newKll(), 0.5)).toBeNull();
  });

  it("stays within its rank error over 200,000 values, merged as a tree or a chain, through JSON", () => {
    const batches = Array.from({ length: 20 }, (_, i) => values(10_000, 100 + i));
    const sorted = batches.flat().sort((a, b) => a - b);
    // A tree of fan-in 4, as the merge phase runs it, each state stored as JSON between levels.
    let level = batches.map((b) => viaJson(sketchOf(b)));
    while (level.length > 1) {
      const next: Kll[] = [];
      for (let i = 0; i < level.length; i += 4) next.push(viaJson(level.slice(i, i + 4).reduce((a, b) => (mergeKll(a, b), a))));
      level = next;
    }
    const tree = level[0]!;
    const chain = batches.map(sketchOf).reduce((a, b) => (mergeKll(a, b), a));
    const worst = { tree: 0, chain: 0 };
    for (const q of QS) {
      worst.tree = Math.max(worst.tree, rankError(sorted, quantileOfKll(tree, q)!, q));
      worst.chain = Math.max(worst.chain, rankError(sorted, quantileOfKll(chain, q)!, q));
    }
    expect(tree.n).toBe(200_000);
    expect(worst.tree).toBeLessThanOrEqual(KLL_RANK_ERROR);
    expect(worst.chain).toBeLessThanOrEqual(KLL_RANK_ERROR);
    // Bounded: about 3k values, whatever the input's size.
    expect(tree.levels.flat().length).toBeLessThan(3.5 * KLL_K);
    console.log(
      `quantile sketch, 200,000 values: worst rank error ${worst.tree.toFixed(4)} (tree), ${worst.chain.toFixed(4)} (chain); ${tree.levels.flat().length} values kept`,
    );
  });

  it("makes the same sketch from the same input in the same order", () => {
    const vs = values(50_000, 7);
    expect(JSON.stringify(sketchOf(vs))).toBe(JSON.stringify(sketchOf(vs)));
  });
});
