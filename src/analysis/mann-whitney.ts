/**
 * Mann-Whitney U (Wilcoxon rank-sum) test: is one sample stochastically larger than the
 * other? Used to judge a canary's samples against the baseline's without assuming any
 * distribution, as Kayenta does.
 *
 * - Ties get mid-ranks.
 * - Small samples (n1 + n2 ≤ EXACT_LIMIT) get the exact permutation distribution of the
 *   rank sum, computed by dynamic programming over doubled ranks, so it stays exact with
 *   ties (conditional on the tie pattern), where tables and the normal approximation are not.
 * - Larger samples use the normal approximation with the tie correction of the variance and
 *   a continuity correction of 0.5.
 */

/** H1 for the first sample (`x`, the canary) against the second (`y`, the baseline). */
export type Alternative = 'greater' | 'less' | 'two-sided';

export interface MannWhitneyResult {
  /** U of the first sample: pairs (xi, yj) with xi > yj, plus half the ties. */
  u: number;
  n1: number;
  n2: number;
  pValue: number;
  method: 'exact' | 'normal';
  /** The standardised statistic (normal method only). */
  z?: number;
  /** Whether any values were tied. */
  ties: boolean;
}

/** Above this total sample size the normal approximation is used. */
export const EXACT_LIMIT = 60;

/** Mid-ranks (1-based) of the concatenation, and the sizes of the tie groups. */
export function midRanks(values: readonly number[]): { ranks: number[]; tieGroups: number[] } {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  const tieGroups: number[] = [];
  for (let i = 0; i < order.length;) {
    let j = i + 1;
    while (
      j < order.length &&
      (order[j] as readonly [number, number])[0] === (order[i] as readonly [number, number])[0]
    )
      j++;
    const rank = (i + 1 + j) / 2; // mean of ranks i+1 .. j
    for (let k = i; k < j; k++) ranks[(order[k] as readonly [number, number])[1]] = rank;
    if (j - i > 1) tieGroups.push(j - i);
    i = j;
  }
  return { ranks, tieGroups };
}

/**
 * U of `x` against `y` and the p-value for H1 `alternative` ('greater': x tends to be larger).
 * `method` 'auto' is exact up to EXACT_LIMIT values in all, normal above.
 */
export function mannWhitneyU(
  x: readonly number[],
  y: readonly number[],
  alternative: Alternative = 'two-sided',
  method: 'auto' | 'exact' | 'normal' = 'auto',
): MannWhitneyResult {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) throw new Error('Mann-Whitney U needs at least one value in each sample.');
  if ([...x, ...y].some((v) => !Number.isFinite(v))) throw new Error('Mann-Whitney U needs finite values.');
  const { ranks, tieGroups } = midRanks([...x, ...y]);
  let r1 = 0;
  for (let i = 0; i < n1; i++) r1 += ranks[i] as number;
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const ties = tieGroups.length > 0;
  const n = n1 + n2;

  if (method === 'exact' || (method === 'auto' && n <= EXACT_LIMIT)) {
    const { atLeast, atMost } = exactTails(ranks, n1, r1);
    const pValue =
      alternative === 'greater'
        ? atLeast
        : alternative === 'less'
          ? atMost
          : Math.min(1, 2 * Math.min(atLeast, atMost));
    return { u, n1, n2, pValue, method: 'exact', ties };
  }

  const mean = (n1 * n2) / 2;
  const tieTerm = tieGroups.reduce((sum, t) => sum + (t * t * t - t), 0);
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return { u, n1, n2, pValue: 1, method: 'normal', z: 0, ties };
  const sd = Math.sqrt(variance);
  const d = u - mean;
  let z: number;
  let pValue: number;
  if (alternative === 'greater') {
    z = (d - 0.5) / sd;
    pValue = normalSf(z);
  } else if (alternative === 'less') {
    z = (d + 0.5) / sd;
    pValue = normalCdf(z);
  } else {
    z = (Math.abs(d) - 0.5) / sd;
    pValue = Math.min(1, 2 * normalSf(Math.max(0, z)));
    z = Math.sign(d) * Math.max(0, z);
  }
  return { u, n1, n2, pValue, method: 'normal', z, ties };
}

/**
 * P(R ≥ r1) and P(R ≤ r1) for the rank sum R of a random subset of size n1 of the given
 * (mid-)ranks, under H0 (every subset equally likely). Mid-ranks are halves at most, so
 * doubled ranks are integers and the distribution is a subset-sum count.
 */
function exactTails(ranks: readonly number[], n1: number, r1: number): { atLeast: number; atMost: number } {
  const n = ranks.length;
  const doubled = ranks.map((r) => Math.round(r * 2));
  const total = doubled.reduce((a, b) => a + b, 0);
  // Count subsets of the smaller size k; translate the observed sum when counting the complement.
  const useComplement = n1 > n - n1;
  const k = useComplement ? n - n1 : n1;
  const observed = useComplement ? total - Math.round(r1 * 2) : Math.round(r1 * 2);
  const maxSum = doubled
    .slice()
    .sort((a, b) => b - a)
    .slice(0, k)
    .reduce((a, b) => a + b, 0);
  // ways[j][s]: number of j-element subsets of the items seen so far with doubled sum s,
  // kept as a fraction of C(n, k) so large n cannot overflow.
  const ways = Array.from({ length: k + 1 }, () => new Float64Array(maxSum + 1));
  (ways[0] as Float64Array)[0] = 1;
  let seen = 0; // no subset of the items so far sums to more than this
  for (let i = 0; i < n; i++) {
    const r = doubled[i] as number;
    const top = Math.min(maxSum - r, seen);
    seen += r;
    for (let j = Math.min(k, i + 1); j >= 1; j--) {
      const from = ways[j - 1] as Float64Array;
      const to = ways[j] as Float64Array;
      for (let s = top; s >= 0; s--) {
        const w = from[s] as number;
        if (w !== 0) to[s + r] = (to[s + r] as number) + w;
      }
    }
  }
  const dist = ways[k] as Float64Array;
  let all = 0;
  let below = 0; // P(sum < observed)
  let above = 0; // P(sum > observed)
  for (let s = 0; s <= maxSum; s++) {
    const w = dist[s] as number;
    all += w;
    if (s < observed) below += w;
    else if (s > observed) above += w;
  }
  const equal = all - below - above;
  // In terms of the complement's sum the direction flips.
  const geSmall = (above + equal) / all;
  const leSmall = (below + equal) / all;
  return useComplement
    ? { atLeast: Math.min(1, leSmall), atMost: Math.min(1, geSmall) }
    : { atLeast: Math.min(1, geSmall), atMost: Math.min(1, leSmall) };
}

// ---------------------------------------------------------------------------------------
// The standard normal distribution, accurate to ~1e-14 (series below 2.5, continued fraction above).

/** erfc(x) for x ≥ 0. */
function erfcPositive(x: number): number {
  if (x < 2.5) {
    // erf(x) = 2/√π · Σ (-1)^n x^(2n+1) / (n! (2n+1))
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))), by Lentz's method.
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** P(Z ≤ z) for a standard normal Z. */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const tail = 0.5 * erfcPositive(x);
  return z < 0 ? tail : 1 - tail;
}

/** P(Z ≥ z), accurate in the far tail too. */
export function normalSf(z: number): number {
  return normalCdf(-z);
}

/** The median of a sample (mean of the middle two for even sizes). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
