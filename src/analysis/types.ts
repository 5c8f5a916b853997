/**
 * The contract between analysis (metrics and judges) and its users: the delivery engine,
 * which only needs `Analysis`, and the cloud domains, which supply `MetricProvider`s
 * (CloudWatch in src/aws, Cloud Monitoring in src/gcp) and `ExtraCheck`s (CloudWatch
 * alarms). Nothing here knows a cloud.
 */
import type { Clock } from '../util/clock.js';

/** The outcome of one check, of one analysis run, or of a whole bake. */
export type Verdict = 'pass' | 'fail' | 'inconclusive';

/** A time window, start inclusive, end exclusive. */
export interface Window {
  start: Date;
  end: Date;
}

/**
 * Where one side's metrics live, filled in by the target: for an ECS task set the ALB
 * dimensions (`targetGroup`, `loadBalancer`), for GKE the `namespace` and `deployment`.
 * Queries refer to them as `{{name}}`.
 */
export type SubjectLabels = Record<string, string>;

/** The two sides of a rollout. Without a baseline (rolling), relative judges are inconclusive. */
export interface Subjects {
  canary: SubjectLabels;
  baseline?: SubjectLabels;
}

/**
 * What a judge needs from one query: the window's aggregate (`value`), the samples over
 * the window (`samples`), or both. Providers may skip work the caller does not need.
 */
export type MetricNeed = 'value' | 'samples' | 'both';

/** One question to a metrics backend. */
export interface MetricQuery {
  /** Provider-specific query text, placeholders already filled in. */
  query: string;
  window: Window;
  /** Spacing of samples, in seconds (at least 10). */
  stepSeconds: number;
  /**
   * What the caller will use; absent means both. (Extension: analysis fills `{{range}}`
   * with the window's length for `value` and with the step for `samples`.)
   */
  need?: MetricNeed;
  /**
   * The labels of the side being queried (canary or baseline), for providers whose query
   * language has shorthands that need them, e.g. CloudWatch's `alb:error-rate` reads
   * `targetGroup` and `loadBalancer`. (Extension.)
   */
  labels?: SubjectLabels;
}

/** A provider's answer: samples over the window (oldest first) and their aggregate. */
export interface MetricResult {
  /** The window's aggregate (a rate, a percentile...); undefined when there was no data. */
  value: number | undefined;
  samples: number[];
  /**
   * How many observations the value stands on (requests for an error rate or a latency),
   * when the provider knows it; judges compare it with the metric's `min-count`. (Extension.)
   */
  count?: number;
}

/** A metrics backend: Prometheus HTTP API, CloudWatch GetMetricData, Cloud Monitoring. */
export interface MetricProvider {
  /** The name specs use in `provider:`, e.g. 'prometheus', 'cloudwatch'. */
  readonly name: string;
  query(query: MetricQuery, signal?: AbortSignal): Promise<MetricResult>;
}

/** The verdict of one check with the numbers behind it. */
export interface CheckResult {
  /** The metric's or check's name from the spec. */
  name: string;
  verdict: Verdict;
  /** One sentence with the numbers, e.g. "error rate 3.2% > 1% (412 requests)". */
  reason: string;
  canary?: number;
  baseline?: number;
  threshold?: number;
  samples?: { canary: number; baseline?: number };
  pValue?: number;
  /** Which judge decided: 'threshold', 'relative', 'mann-whitney', or e.g. 'alarm'. (Extension.) */
  judge?: string;
  /** Observations behind each side's value, e.g. requests. (Extension.) */
  count?: { canary?: number; baseline?: number };
  /** How to show canary / baseline / threshold: 'ratio' as %, 'seconds' as ms or s. (Extension.) */
  unit?: MetricUnit;
}

/** Display unit of a metric's numbers. */
export type MetricUnit = 'ratio' | 'seconds' | 'count' | 'none';

/** A check that is not a metric query, e.g. "no CloudWatch alarm is in ALARM". */
export interface ExtraCheck {
  readonly name: string;
  evaluate(window: Window, signal?: AbortSignal): Promise<CheckResult>;
}

/** One analysis run over one window. */
export interface AnalysisRun {
  /** ISO time of the run. */
  at: string;
  window: { start: string; end: string };
  verdict: Verdict;
  checks: CheckResult[];
}

export interface BakeOptions {
  subjects: Subjects;
  /** How long to bake; runs happen every `intervalMs` within it. */
  durationMs: number;
  /** When the traffic being judged started (the weight was confirmed); windows start here. */
  since: Date;
  clock?: Clock;
  signal?: AbortSignal;
  /** Called after every run, e.g. to log progress and keep evidence. */
  onRun?: (run: AnalysisRun) => void;
}

/** The outcome of a bake: pass lets the rollout continue; fail and inconclusive stop it. */
export interface BakeResult {
  verdict: Verdict;
  /** One sentence for the log and summary. */
  reason: string;
  runs: AnalysisRun[];
}

/** The analysis of one rollout, as the delivery engine sees it. */
export interface Analysis {
  /** Time between runs during a bake. */
  readonly intervalMs: number;
  /** Consecutive failed runs that fail the bake at once. */
  readonly failureLimit: number;
  /** One run over one window. */
  run(subjects: Subjects, window: Window, signal?: AbortSignal): Promise<AnalysisRun>;
  /** Runs every interval for `durationMs`; returns early on `failureLimit` consecutive failures. */
  bake(options: BakeOptions): Promise<BakeResult>;
}
