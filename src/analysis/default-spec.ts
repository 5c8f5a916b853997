/**
 * The default analysis: the platform SLO (error rate at most 1%, p95 latency at most
 * 500 ms, at least 100 requests a step) written as a spec for each provider that has one
 * (cloudwatch, prometheus, cloud-monitoring). Used when the `analysis` input is empty or
 * `default`.
 */
import { tryParseDuration } from '../util/duration.js';
import { UserError } from '../util/errors.js';
import { SPEC_DEFAULTS, type AnalysisSpec, type ThresholdJudge } from './spec-types.js';

export interface PrometheusDefaults {
  /** Label matchers selecting one side, with placeholders. Default `namespace="{{namespace}}", deployment="{{deployment}}"`. */
  selector?: string;
  /** Request counter with a status code label. Default `http_requests_total`. */
  requestsMetric?: string;
  /** Label holding the HTTP status code. Default `code`. */
  codeLabel?: string;
  /** Latency histogram (seconds), without `_bucket`. Default `http_request_duration_seconds`. */
  durationMetric?: string;
}

export const SLO = { errorRate: 0.01, p95LatencySeconds: 0.5, minRequests: 100 } as const;

/** Options of the default Cloud Monitoring spec (Managed Prometheus metrics in Cloud Monitoring). */
export interface CloudMonitoringDefaults {
  /** Filter terms selecting one side. Default `resource.labels.namespace="{{namespace}}" AND metric.labels.deployment="{{deployment}}"`. */
  selector?: string;
  /** Counter metric type. Default prometheus.googleapis.com/http_requests_total/counter. */
  requestsMetric?: string;
  /** Metric label holding the HTTP status code. Default `code`. */
  codeLabel?: string;
  /** Latency distribution (seconds). Default prometheus.googleapis.com/http_request_duration_seconds/histogram. */
  durationMetric?: string;
}

/** The platform SLO as a spec, for a provider that has one (cloudwatch, prometheus, cloud-monitoring). */
export function defaultAnalysisSpec(
  provider: string,
  options: { prometheus?: PrometheusDefaults; cloudMonitoring?: CloudMonitoringDefaults } = {},
): AnalysisSpec {
  const base = {
    failureLimit: SPEC_DEFAULTS.failureLimit,
    errorLimit: SPEC_DEFAULTS.errorLimit,
    onInconclusive: SPEC_DEFAULTS.onInconclusive,
    maxExtensionMs: tryParseDuration(SPEC_DEFAULTS.maxExtension) as number,
    source: `default (${provider})`,
  };
  const threshold = (max: number): ThresholdJudge => ({ kind: 'threshold', max });
  if (provider === 'cloudwatch') {
    return {
      ...base,
      intervalMs: 60_000,
      metrics: [
        {
          name: 'error-rate',
          provider,
          query: 'alb:error-rate',
          minCount: SLO.minRequests,
          stepSeconds: 60,
          unit: 'ratio',
          judge: threshold(SLO.errorRate),
        },
        {
          name: 'p95-latency',
          provider,
          query: 'alb:p95-latency',
          minCount: SLO.minRequests,
          stepSeconds: 60,
          unit: 'seconds',
          judge: threshold(SLO.p95LatencySeconds),
        },
      ],
    };
  }
  if (provider === 'prometheus') {
    const p = options.prometheus ?? {};
    const sel = p.selector ?? 'namespace="{{namespace}}", deployment="{{deployment}}"';
    const requests = p.requestsMetric ?? 'http_requests_total';
    const code = p.codeLabel ?? 'code';
    const duration = p.durationMetric ?? 'http_request_duration_seconds';
    const countQuery = `sum(increase(${requests}{${sel}}[{{range}}]))`;
    return {
      ...base,
      intervalMs: 30_000,
      metrics: [
        {
          name: 'error-rate',
          provider,
          query: `(sum(rate(${requests}{${sel}, ${code}=~"5.."}[{{range}}])) or vector(0)) / sum(rate(${requests}{${sel}}[{{range}}]))`,
          countQuery,
          minCount: SLO.minRequests,
          stepSeconds: 30,
          unit: 'ratio',
          judge: threshold(SLO.errorRate),
        },
        {
          name: 'p95-latency',
          provider,
          query: `histogram_quantile(0.95, sum by (le) (rate(${duration}_bucket{${sel}}[{{range}}])))`,
          countQuery,
          minCount: SLO.minRequests,
          stepSeconds: 30,
          unit: 'seconds',
          judge: threshold(SLO.p95LatencySeconds),
        },
      ],
    };
  }
  if (provider === 'cloud-monitoring') {
    // The same conventional metrics as Prometheus, as Managed Prometheus stores them in Cloud Monitoring.
    const c = options.cloudMonitoring ?? {};
    const sel = c.selector ?? 'resource.labels.namespace="{{namespace}}" AND metric.labels.deployment="{{deployment}}"';
    const requests = `metric.type="${c.requestsMetric ?? 'prometheus.googleapis.com/http_requests_total/counter'}" AND ${sel}`;
    const code = c.codeLabel ?? 'code';
    return {
      ...base,
      intervalMs: 60_000,
      metrics: [
        {
          name: 'error-rate',
          provider,
          query: `${requests} AND metric.labels.${code}=monitoring.regex.full_match("5..") | ALIGN_RATE | REDUCE_SUM / ${requests} | ALIGN_RATE | REDUCE_SUM`,
          minCount: SLO.minRequests,
          stepSeconds: 60,
          unit: 'ratio',
          judge: threshold(SLO.errorRate),
        },
        {
          name: 'p95-latency',
          provider,
          query: `metric.type="${c.durationMetric ?? 'prometheus.googleapis.com/http_request_duration_seconds/histogram'}" AND ${sel} | ALIGN_DELTA | REDUCE_PERCENTILE_95`,
          countQuery: `${requests} | ALIGN_DELTA | REDUCE_SUM`,
          minCount: SLO.minRequests,
          stepSeconds: 60,
          unit: 'seconds',
          judge: threshold(SLO.p95LatencySeconds),
        },
      ],
    };
  }
  throw new UserError(
    `There is no default analysis for the '${provider}' provider.`,
    'Write an analysis spec with the metrics to judge (see docs/analysis.md), or use the cloudwatch, prometheus or cloud-monitoring provider.',
  );
}
