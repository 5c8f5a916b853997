import { describe, expect, it } from '@jest/globals';
import { mannWhitneyU, median, midRanks, normalCdf, type Alternative } from '../../../src/analysis/mann-whitney.js';

/**
 * The reference: enumerate every way of choosing which n1 of the pooled values belong to
 * the first sample (all equally likely under H0) and count how many give a U at least /
 * at most as extreme as the observed one. Written independently of the implementation
 * (pairwise comparison, no ranks).
 */
function uByPairs(x: number[], y: number[]): number {
  let u = 0;
  for (const a of x) for (const b of y) u += a > b ? 1 : a === b ? 0.5 : 0;
  return u;
}

function bruteForceP(x: number[], y: number[], alternative: Alternative): number {
  const pooled = [...x, ...y];
  const n1 = x.length;
  const observed = uByPairs(x, y);
  let ge = 0;
  let le = 0;
  let total = 0;
  const choose = (start: number, picked: number[]) => {
    if (picked.length === n1) {
      const xs = picked.map((i) => pooled[i] as number);
      const ys = pooled.filter((_, i) => !picked.includes(i));
      const u = uByPairs(xs, ys);
      total++;
      if (u >= observed - 1e-9) ge++;
      if (u <= observed + 1e-9) le++;
      return;
    }
    for (let i = start; i <= pooled.length - (n1 - picked.length); i++) choose(i + 1, [...picked, i]);
  };
  choose(0, []);
  if (alternative === 'greater') return ge / total;
  if (alternative === 'less') return le / total;
  return Math.min(1, (2 * Math.min(ge, le)) / total);
}

/** A deterministic pseudo-random sequence (LCG), so the cases are fixed but varied. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/** Samples x (n1) and y (n2) with exactly U(x) = u and no ties. */
function withU(n1: number, n2: number, u: number): [number[], number[]] {
  const y = Array.from({ length: n2 }, (_, i) => (i + 1) * 2);
  let rest = u;
  const x = Array.from({ length: n1 }, (_, i) => {
    const below = Math.min(n2, rest);
    rest -= below;
    return below * 2 + 1 + i / 100; // above exactly `below` of the y values, no two alike
  });
  return [x, y];
}

describe('Mann-Whitney U', () => {
  it('computes U as the number of pairs where the first sample is larger (ties count half)', () => {
    const x = [3, 5, 5, 9];
    const y = [1, 5, 7];
    expect(mannWhitneyU(x, y).u).toBe(uByPairs(x, y));
    expect(mannWhitneyU(y, x).u).toBe(x.length * y.length - uByPairs(x, y));
  });

  it('gives mid-ranks to ties', () => {
    expect(midRanks([10, 20, 20, 30, 20]).ranks).toEqual([1, 3, 3, 5, 3]);
    expect(midRanks([10, 20, 20, 30, 20]).tieGroups).toEqual([3]);
  });

  it('matches exact enumeration without ties, for every alternative', () => {
    const rand = lcg(7);
    for (const [n1, n2] of [
      [3, 4],
      [5, 5],
      [4, 8],
      [7, 6],
      [2, 9],
    ] as const) {
      const x = Array.from({ length: n1 }, () => rand() * 10 + 1);
      const y = Array.from({ length: n2 }, () => rand() * 10);
      for (const alt of ['greater', 'less', 'two-sided'] as const) {
        const result = mannWhitneyU(x, y, alt);
        expect(result.method).toBe('exact');
        expect(result.pValue).toBeCloseTo(bruteForceP(x, y, alt), 12);
      }
    }
  });

  it('stays exact with ties, where tables and the normal approximation are not', () => {
    const x = [1, 2, 2, 3, 3, 3, 4];
    const y = [2, 3, 3, 4, 4, 5];
    for (const alt of ['greater', 'less', 'two-sided'] as const) {
      const result = mannWhitneyU(x, y, alt);
      expect(result.ties).toBe(true);
      expect(result.pValue).toBeCloseTo(bruteForceP(x, y, alt), 12);
    }
    // Heavily tied latency buckets (as histogram quantiles often are).
    const rand = lcg(11);
    const a = Array.from({ length: 8 }, () => Math.round(rand() * 4) * 0.05);
    const b = Array.from({ length: 7 }, () => Math.round(rand() * 4) * 0.05 + 0.05);
    expect(mannWhitneyU(a, b, 'less').pValue).toBeCloseTo(bruteForceP(a, b, 'less'), 12);
  });

  it('reproduces the published two-sided critical values of U at α = 0.05', () => {
    // Critical values from the standard Mann-Whitney table (two-tailed, α = 0.05): the
    // largest U whose two-sided p-value is at most 0.05.
    for (const [n, critical] of [
      [5, 2],
      [8, 13],
      [10, 23],
      [20, 127],
    ] as const) {
      const [x1, y1] = withU(n, n, critical);
      const [x2, y2] = withU(n, n, critical + 1);
      expect(mannWhitneyU(x1, y1).u).toBe(critical);
      expect(mannWhitneyU(x1, y1, 'two-sided').pValue).toBeLessThanOrEqual(0.05);
      expect(mannWhitneyU(x2, y2, 'two-sided').pValue).toBeGreaterThan(0.05);
    }
  });

  it('reproduces the SciPy documentation example (exact and asymptotic)', () => {
    // scipy.stats.mannwhitneyu docs: males vs females, U1 = 17, exact p = 0.1111...,
    // asymptotic (continuity-corrected) p = 0.11134688653314041.
    const males = [19, 22, 16, 29, 24];
    const females = [20, 11, 17, 12];
    const exact = mannWhitneyU(males, females, 'two-sided', 'exact');
    expect(exact.u).toBe(17);
    expect(exact.pValue).toBeCloseTo(1 / 9, 12);
    expect(mannWhitneyU(males, females, 'two-sided', 'normal').pValue).toBeCloseTo(0.11134688653314041, 10);
  });

  it('uses the normal approximation for large samples, close to the exact distribution', () => {
    const rand = lcg(3);
    const x = Array.from({ length: 30 }, () => Math.round(rand() * 40) + 3);
    const y = Array.from({ length: 30 }, () => Math.round(rand() * 40));
    for (const alt of ['greater', 'less', 'two-sided'] as const) {
      const exact = mannWhitneyU(x, y, alt, 'exact').pValue;
      const normal = mannWhitneyU(x, y, alt, 'normal').pValue;
      expect(Math.abs(exact - normal)).toBeLessThan(0.01);
    }
    const big = mannWhitneyU(
      Array.from({ length: 5000 }, () => rand() + 0.02),
      Array.from({ length: 5000 }, () => rand()),
      'greater',
    );
    expect(big.method).toBe('normal');
    expect(big.pValue).toBeLessThan(0.01);
  });

  it('finds no difference between identical samples', () => {
    const same = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
    expect(mannWhitneyU(same, same, 'two-sided').pValue).toBe(1);
    expect(mannWhitneyU(Array(80).fill(1), Array(80).fill(1), 'greater').pValue).toBe(1);
  });

  it('computes the standard normal CDF to published precision', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 15);
    expect(normalCdf(1)).toBeCloseTo(0.8413447460685429, 14);
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 14);
    expect(normalCdf(-3)).toBeCloseTo(0.0013498980316301, 15);
    expect(normalCdf(-8) / 6.220960574271785e-16).toBeCloseTo(1, 8);
  });

  it('rejects empty or non-finite samples', () => {
    expect(() => mannWhitneyU([], [1])).toThrow('at least one value');
    expect(() => mannWhitneyU([NaN], [1])).toThrow('finite');
    expect(median([3, 1, 2, 10])).toBe(2.5);
  });
});
