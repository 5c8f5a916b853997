/**
 * The contract between analysis (metrics and judges) and its users: the delivery engine,
 * which only needs `Analysis`, and the cloud domains, which supply `MetricProvider`s
 * (CloudWatch in src/aws, Cloud Monitoring in src/gcp) and `ExtraCheck`s (CloudWatch
 * alarms). Nothing here knows a cloud.
 */
import type { Clock } from '../util/clock.js';

/** The outcome of a whole bake (and of a judged check or run). */
export type Verdict = 'pass' | 'fail' | 'inconclusive';

/**
 * The outcome of one check or one run: a verdict, or `error` when the metrics backend
 * (or an extra check) failed to answer. An error is not "too little data": bakes count
 * consecutive errors against the spec's `error-limit` and never end on one.
 */
export type RunVerdict = Verdict | 'error';

/** A time window, start inclusive, end exclusive. */
export interface Window {
  start: Date;
  end: Date;
  /**
   * The earliest instant whose data belongs to this rollout (its first confirmed shift).
   * A provider must not count data from before it, even where its aggregation periods
   * would begin earlier (CloudWatch rounds start times down to the minute): such periods
   * are left out, and the result says so in `excluded`. Absent means `start`.
   */
  notBefore?: Date;
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
  /**
   * What the provider left out of the window and why, e.g. a CloudWatch minute that began
   * before the rollout's first shift. Shown when the check ends without enough data.
   */
  excluded?: string;
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
  verdict: RunVerdict;
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
  /** Set when `verdict` is 'error': which backend failed (a provider's or an extra check's name) and how. */
  error?: { source: string; message: string };
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
  /** fail > error > inconclusive > pass over the checks. */
  verdict: RunVerdict;
  checks: CheckResult[];
}

export interface BakeOptions {
  subjects: Subjects;
  /** How long to bake; runs happen every `intervalMs` within it. */
  durationMs: number;
  /** When the traffic being judged started (the weight was confirmed); windows start here. */
  since: Date;
  /**
   * When this rollout's traffic first reached the new version (the first step's confirmed
   * shift). Data from before it is another rollout's (e.g. a canary just rolled back on the
   * same target group) and is never judged. Default `since`, which is stricter than needed
   * from the second step on (it leaves out the step's first partial CloudWatch minute).
   */
  firstShiftAt?: Date;
  clock?: Clock;
  signal?: AbortSignal;
  /** Called after every run, e.g. to log progress and keep evidence. */
  onRun?: (run: AnalysisRun) => void;
}

/** Why a bake failed when the metrics backend, not the canary, was the problem. */
export interface BackendFailure {
  /** Providers or extra checks that failed in the last run, e.g. ['prometheus']. */
  sources: string[];
  /** Consecutive runs with an error (the spec's error-limit when it tripped). */
  consecutive: number;
  /** The last run's error messages. */
  message: string;
}

/** The outcome of a bake: pass lets the rollout continue; fail and inconclusive stop it. */
export interface BakeResult {
  verdict: Verdict;
  /** One sentence for the log and summary. */
  reason: string;
  runs: AnalysisRun[];
  /** Set when the bake failed on `error-limit` consecutive runs with a backend error. */
  backendFailure?: BackendFailure;
}

/** The analysis of one rollout, as the delivery engine sees it. */
export interface Analysis {
  /** Time between runs during a bake. */
  readonly intervalMs: number;
  /** Consecutive failed runs that fail the bake at once. */
  readonly failureLimit: number;
  /** Consecutive runs with a metrics backend error that fail the bake at once. */
  readonly errorLimit: number;
  /** One run over one window. */
  run(subjects: Subjects, window: Window, signal?: AbortSignal): Promise<AnalysisRun>;
  /**
   * Runs every interval for `durationMs`; returns early on `failureLimit` consecutive
   * failures or `errorLimit` consecutive runs with an error. Never ends on a run with an
   * error: past `durationMs` it runs on (at most errorLimit − 1 more intervals) until a run
   * without one decides.
   */
  bake(options: BakeOptions): Promise<BakeResult>;
}
