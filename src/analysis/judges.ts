/**
 * Judges: turn one metric's numbers into a verdict with the numbers behind it. Pure
 * functions; the analysis run fetches the numbers and handles missing data and minimum
 * counts before calling them.
 */
import { formatP, formatValue, plural } from './format.js';
import { mannWhitneyU, median, type Alternative } from './mann-whitney.js';
import type { MannWhitneyJudge, MetricSpec, RelativeJudge, ThresholdJudge } from './spec-types.js';
import type { CheckResult } from './types.js';

/** One side's numbers for one metric. */
export interface SideData {
  value: number | undefined;
  samples: number[];
  count?: number;
  /** What the provider left out of the window and why (see MetricResult.excluded). */
  excluded?: string;
}

function base(metric: MetricSpec, verdict: CheckResult['verdict'], reason: string): CheckResult {
  return { name: metric.name, verdict, reason, judge: metric.judge.kind, unit: metric.unit };
}

function countNote(count: number | undefined): string {
  return count === undefined ? '' : ` (${plural(count, 'request')})`;
}

export function judgeThreshold(metric: MetricSpec & { judge: ThresholdJudge }, canary: SideData): CheckResult {
  const { max, min } = metric.judge;
  const fmt = (v: number | undefined) => formatValue(v, metric.unit);
  const value = canary.value;
  const numbers = { canary: value, ...(canary.count !== undefined ? { count: { canary: canary.count } } : {}) };
  if (value === undefined) {
    return { ...base(metric, 'inconclusive', `${metric.name}: no data for the canary yet`), ...numbers };
  }
  if (max !== undefined && value > max) {
    return {
      ...base(metric, 'fail', `${metric.name} ${fmt(value)} > ${fmt(max)}${countNote(canary.count)}`),
      ...numbers,
      threshold: max,
    };
  }
  if (min !== undefined && value < min) {
    return {
      ...base(metric, 'fail', `${metric.name} ${fmt(value)} < ${fmt(min)} (minimum)${countNote(canary.count)}`),
      ...numbers,
      threshold: min,
    };
  }
  const bound = max !== undefined ? `≤ ${fmt(max)}` : `≥ ${fmt(min)}`;
  const both = max !== undefined && min !== undefined ? `within ${fmt(min)}–${fmt(max)}` : bound;
  return {
    ...base(metric, 'pass', `${metric.name} ${fmt(value)} ${both}${countNote(canary.count)}`),
    ...numbers,
    threshold: max ?? min,
  };
}

export function judgeRelative(
  metric: MetricSpec & { judge: RelativeJudge },
  canary: SideData,
  baseline: SideData,
): CheckResult {
  const { tolerance, margin, direction } = metric.judge;
  const fmt = (v: number | undefined) => formatValue(v, metric.unit);
  const c = canary.value;
  const b = baseline.value;
  const numbers = {
    canary: c,
    baseline: b,
    ...(canary.count !== undefined || baseline.count !== undefined
      ? { count: { canary: canary.count, baseline: baseline.count } }
      : {}),
  };
  if (c === undefined || b === undefined) {
    const missing =
      c === undefined && b === undefined
        ? 'the canary or the baseline'
        : c === undefined
          ? 'the canary'
          : 'the baseline';
    return { ...base(metric, 'inconclusive', `${metric.name}: no data for ${missing} yet`), ...numbers };
  }
  const upper = b + Math.abs(b) * tolerance + margin;
  const lower = b - Math.abs(b) * tolerance - margin;
  const allowance = `${+(tolerance * 100).toFixed(2)}%${margin ? ` + ${fmt(margin)}` : ''}`;
  if ((direction === 'increase' || direction === 'both') && c > upper) {
    return {
      ...base(
        metric,
        'fail',
        `${metric.name} canary ${fmt(c)} > baseline ${fmt(b)} + ${allowance} (limit ${fmt(upper)})`,
      ),
      ...numbers,
      threshold: upper,
    };
  }
  if ((direction === 'decrease' || direction === 'both') && c < lower) {
    return {
      ...base(
        metric,
        'fail',
        `${metric.name} canary ${fmt(c)} < baseline ${fmt(b)} − ${allowance} (limit ${fmt(lower)})`,
      ),
      ...numbers,
      threshold: lower,
    };
  }
  return {
    ...base(metric, 'pass', `${metric.name} canary ${fmt(c)} within ${allowance} of baseline ${fmt(b)}`),
    ...numbers,
    threshold: direction === 'decrease' ? lower : upper,
  };
}

const ALTERNATIVE: Record<MannWhitneyJudge['direction'], Alternative> = {
  increase: 'greater',
  decrease: 'less',
  both: 'two-sided',
};

export function judgeMannWhitney(
  metric: MetricSpec & { judge: MannWhitneyJudge },
  canary: SideData,
  baseline: SideData,
): CheckResult {
  const { confidence, minSamples, direction, tolerance } = metric.judge;
  const fmt = (v: number | undefined) => formatValue(v, metric.unit);
  // Ranks only need order: +Inf (e.g. a quantile beyond the last histogram bucket) ranks highest.
  const usable = (v: number[]) =>
    v.filter((n) => !Number.isNaN(n)).map((n) => (Number.isFinite(n) ? n : Math.sign(n) * Number.MAX_VALUE));
  const x = usable(canary.samples);
  const y = usable(baseline.samples);
  const mx = x.length ? median(x) : undefined;
  const my = y.length ? median(y) : undefined;
  const numbers = { canary: mx, baseline: my, samples: { canary: x.length, baseline: y.length } };
  if (x.length < minSamples || y.length < minSamples) {
    return {
      ...base(
        metric,
        'inconclusive',
        `${metric.name}: ${x.length} canary and ${y.length} baseline samples, need ${minSamples} each`,
      ),
      ...numbers,
    };
  }
  const test = mannWhitneyU(x, y, ALTERNATIVE[direction]);
  const alpha = Number((1 - confidence).toFixed(10));
  const medians = `median ${fmt(mx)} vs baseline ${fmt(my)}`;
  const stats = `p = ${formatP(test.pValue)}, ${x.length} vs ${y.length} samples`;
  const result = { ...numbers, pValue: test.pValue, threshold: alpha };
  if (test.pValue >= alpha) {
    const what = direction === 'increase' ? 'increase' : direction === 'decrease' ? 'decrease' : 'difference';
    return { ...base(metric, 'pass', `${metric.name}: no significant ${what}, ${medians} (${stats})`), ...result };
  }
  // Significant: fail unless the medians differ by less than the tolerance.
  const relative = my !== undefined && mx !== undefined && my !== 0 ? (mx - my) / Math.abs(my) : Infinity;
  if (tolerance > 0 && Math.abs(relative) <= tolerance) {
    return {
      ...base(
        metric,
        'pass',
        `${metric.name}: significant but within ${+(tolerance * 100).toFixed(2)}% tolerance, ${medians} (${stats})`,
      ),
      ...result,
    };
  }
  const word = direction === 'increase' ? 'higher' : direction === 'decrease' ? 'lower' : 'different';
  return {
    ...base(metric, 'fail', `${metric.name}: canary ${word} than baseline, ${medians} (${stats} < ${formatP(alpha)})`),
    ...result,
  };
}
