/**
 * The analysis spec's shape: metrics, their judges and the top-level settings, as
 * `parseAnalysisSpec` (spec.ts) returns them, and the defaults a spec falls back to.
 */
import type { LoadSpec } from './load.js';
import type { SmokeSpec } from './smoke.js';
import type { MetricUnit } from './types.js';

/** Which way a change is bad: `increase` (latency, errors), `decrease` (throughput), or `both`. */
export type Direction = 'increase' | 'decrease' | 'both';

/** The canary's value against fixed limits (the SLO). */
export interface ThresholdJudge {
  kind: 'threshold';
  /** Fail when the canary's value is above this. */
  max?: number;
  /** Fail when the canary's value is below this. */
  min?: number;
}

/** The canary's value against the baseline's, with a tolerance. */
export interface RelativeJudge {
  kind: 'relative';
  /** Allowed relative change, e.g. 0.1: the canary may be 10% worse than the baseline. */
  tolerance: number;
  /** Allowed absolute change on top of the tolerance (for values near zero, e.g. error rates). */
  margin: number;
  direction: Direction;
}

/** Mann-Whitney U on the canary's and the baseline's samples. */
export interface MannWhitneyJudge {
  kind: 'mann-whitney';
  /** Fail only when the difference is significant at this level (p < 1 - confidence). */
  confidence: number;
  /** Fewer samples than this on either side → inconclusive. */
  minSamples: number;
  direction: Direction;
  /** Significant differences of the medians smaller than this (relative) still pass. */
  tolerance: number;
}

export type JudgeSpec = ThresholdJudge | RelativeJudge | MannWhitneyJudge;
export type JudgeKind = JudgeSpec['kind'];

export interface MetricSpec {
  name: string;
  /** A key of the providers given to createAnalysis, e.g. 'cloudwatch', 'prometheus'. */
  provider: string;
  /** Provider-specific text with `{{label}}` placeholders. */
  query: string;
  /** A query for the number of observations (requests) behind the value, for `minCount`. */
  countQuery?: string;
  /** Fewer observations than this on a side → inconclusive, not pass. 0 = no minimum. */
  minCount: number;
  /** Spacing of samples (seconds, at least 10). */
  stepSeconds: number;
  unit: MetricUnit;
  judge: JudgeSpec;
}

/** What a bake that ends inconclusive does: stop the rollout, let it continue, or bake longer. */
export type InconclusivePolicy = 'stop' | 'continue' | 'extend';

export interface AnalysisSpec {
  /** Time between analysis runs during a bake (at least 10 s). */
  intervalMs: number;
  /** Consecutive failed runs that fail the bake at once. */
  failureLimit: number;
  /**
   * Consecutive runs in which a provider (or an extra check) failed to answer that fail the
   * bake at once: a metrics outage is not low traffic. (Argo Rollouts: consecutiveErrorLimit.)
   */
  errorLimit: number;
  /** Each run looks back this far (never before the traffic shift); undefined = everything since the shift. */
  lookbackMs?: number;
  onInconclusive: InconclusivePolicy;
  /** With `extend`: how much longer to bake at most, waiting for a conclusive run. */
  maxExtensionMs: number;
  metrics: MetricSpec[];
  /** Where the spec came from, for logs and reports: 'default (cloudwatch)', 'inline', or a file path. */
  source: string;
  /** HTTP checks against the new side before it gets production traffic (see smoke.ts). */
  smoke?: SmokeSpec;
  /** Synthetic load to both sides during each bake, for quiet services (see load.ts). */
  load?: LoadSpec;
}

/** Placeholders analysis fills itself; every other `{{name}}` is a subject label. */
export const BUILTIN_PLACEHOLDERS = ['range', 'window', 'step'] as const;

export const SPEC_DEFAULTS = {
  interval: '1m',
  failureLimit: 2,
  errorLimit: 3,
  step: '60s',
  onInconclusive: 'stop' as InconclusivePolicy,
  maxExtension: '10m',
  relativeTolerance: 0.1,
  confidence: 0.95,
  minSamples: 10,
};
