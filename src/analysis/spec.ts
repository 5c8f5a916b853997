/**
 * The analysis spec: one format for ECS (CloudWatch) and GKE (Prometheus, Managed
 * Prometheus, Cloud Monitoring). `parseAnalysisSpec` reads it from the `analysis` action
 * input (inline YAML or JSON, or a file path) and reports every mistake as a UserError
 * that names the field and says what to write instead. docs/analysis.md is the reference.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { formatDuration, tryParseDuration } from '../util/duration.js';
import { UserError } from '../util/errors.js';
import { buildLoadSpec, type LoadSpec } from './load.js';
import { buildSmokeSpec, type SmokeSpec } from './smoke.js';
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

export interface ParseSpecOptions {
  /** Provider whose default spec is used when the input is empty or `default`. */
  defaultProvider?: string;
  /** Providers the caller can supply; a metric naming another one is an error at once. */
  providers?: string[];
  /** Subject labels the target supplies; an unknown `{{placeholder}}` is an error at once. */
  labels?: string[];
  /** Where relative file paths are resolved: default GITHUB_WORKSPACE, then the working directory. */
  workspace?: string;
  /** The input's name, for messages. Default 'analysis'. */
  inputName?: string;
  /** Options for the default Prometheus spec. */
  prometheus?: PrometheusDefaults;
  /** Options for the default Cloud Monitoring spec. */
  cloudMonitoring?: CloudMonitoringDefaults;
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

const MIN_INTERVAL_MS = 10_000;
const MIN_STEP_MS = 10_000;
const MAX_DURATION_MS = 24 * 3_600_000;

// ---------------------------------------------------------------------------------------
// Defaults: the platform SLO (error rate ≤ 1%, p95 latency ≤ 500 ms).

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

// ---------------------------------------------------------------------------------------
// Parsing.

type Mapping = Record<string, unknown>;

class SpecReader {
  constructor(readonly source: string) {}

  fail(path: string, problem: string, hint: string): never {
    const where = this.source === 'inline' ? 'the analysis spec' : `the analysis spec ${this.source}`;
    throw new UserError(`In ${where}, ${path} ${problem}.`, hint);
  }

  mapping(value: unknown, path: string, allowed: readonly string[]): Mapping {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.fail(
        path,
        `must be a mapping (key: value lines), not ${describe(value)}`,
        `Allowed keys: ${allowed.join(', ')}.`,
      );
    }
    const obj = value as Mapping;
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key)) {
        const near = suggest(key, allowed);
        this.fail(
          join(path, key),
          'is not a known field',
          near
            ? `Did you mean '${near}'? Allowed here: ${allowed.join(', ')}.`
            : `Allowed here: ${allowed.join(', ')}.`,
        );
      }
    }
    return obj;
  }

  string(obj: Mapping, key: string, path: string, hint: string): string | undefined {
    const value = obj[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || value.trim() === '') {
      this.fail(join(path, key), `must be a non-empty text, not ${describe(value)}`, hint);
    }
    return value.trim();
  }

  duration(obj: Mapping, key: string, path: string, fallback: string | undefined, minMs: number): number | undefined {
    const value = obj[key];
    const hint = `Write a duration such as 30s, 2m or 1h30m (at least ${formatDuration(minMs)}).`;
    if (value === undefined || value === null)
      return fallback === undefined ? undefined : (tryParseDuration(fallback) as number);
    const ms =
      typeof value === 'number' ? value * 1000 : typeof value === 'string' ? tryParseDuration(value) : undefined;
    if (ms === undefined || !Number.isFinite(ms))
      this.fail(join(path, key), `must be a duration, not ${describe(value)}`, hint);
    if (ms < minMs)
      this.fail(join(path, key), `must be at least ${formatDuration(minMs)}, not ${formatDuration(ms)}`, hint);
    if (ms > MAX_DURATION_MS) this.fail(join(path, key), `must be at most 24h, not ${formatDuration(ms)}`, hint);
    return ms;
  }

  integer(obj: Mapping, key: string, path: string, fallback: number, min: number, max: number): number {
    const value = obj[key];
    if (value === undefined || value === null) return fallback;
    const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n)) {
      this.fail(
        join(path, key),
        `must be a whole number, not ${describe(value)}`,
        `Write a whole number between ${min} and ${max}, e.g. ${fallback || min}.`,
      );
    }
    if (n < min || n > max)
      this.fail(
        join(path, key),
        `must be between ${min} and ${max}, not ${n}`,
        `Write a whole number between ${min} and ${max}.`,
      );
    return n;
  }

  /** A number, a percentage (`1%` → 0.01) or a duration (`500ms` → 0.5 seconds). */
  quantity(obj: Mapping, key: string, path: string): Quantity | undefined {
    const value = obj[key];
    if (value === undefined || value === null) return undefined;
    const q = parseQuantity(value);
    if (!q) {
      this.fail(
        join(path, key),
        `must be a number, not ${describe(value)}`,
        'Write a plain number (0.5), a percentage (1%) or a duration in seconds (500ms, 1.5s).',
      );
    }
    return q;
  }

  /** A fraction: 0.1 or `10%`, within bounds. */
  fraction(
    obj: Mapping,
    key: string,
    path: string,
    fallback: number,
    min: number,
    max: number,
    minExclusive = false,
  ): number {
    const value = obj[key];
    if (value === undefined || value === null) return fallback;
    const q = parseQuantity(value);
    const ok =
      q !== undefined && q.unit !== 'seconds' && (minExclusive ? q.value > min : q.value >= min) && q.value <= max;
    if (!ok) {
      this.fail(
        join(path, key),
        `must be a fraction ${minExclusive ? 'above' : 'from'} ${pct(min)} to ${pct(max)}, not ${describe(value)}`,
        `Write it as a decimal (${fallback}) or a percentage (${pct(fallback)}).`,
      );
    }
    return q.value;
  }

  choice<T extends string>(obj: Mapping, key: string, path: string, choices: readonly T[], fallback: T): T {
    const value = obj[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string' || !choices.includes(value as T)) {
      this.fail(
        join(path, key),
        `must be one of ${choices.join(', ')}, not ${describe(value)}`,
        `Write one of: ${choices.join(', ')}.`,
      );
    }
    return value as T;
  }
}

interface Quantity {
  value: number;
  unit?: MetricUnit;
}

/** `0.01` → 0.01; `'1%'` → 0.01 (ratio); `'500ms'` → 0.5 (seconds); anything else → undefined. */
export function parseQuantity(value: unknown): Quantity | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? { value } : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  const percent = /^(-?\d+(?:\.\d+)?)\s*%$/.exec(text);
  if (percent) return { value: Number(percent[1]) / 100, unit: 'ratio' };
  if (/^-?\d+(?:\.\d+)?(?:e-?\d+)?$/i.test(text)) return { value: Number(text) };
  if (/[a-z]$/i.test(text)) {
    const ms = tryParseDuration(text);
    if (ms !== undefined) return { value: ms / 1000, unit: 'seconds' };
  }
  return undefined;
}

const TOP_KEYS = [
  'interval',
  'failure-limit',
  'error-limit',
  'lookback',
  'on-inconclusive',
  'max-extension',
  'step',
  'provider',
  'min-count',
  'metrics',
  'smoke',
  'load',
] as const;
const METRIC_KEYS = ['name', 'provider', 'query', 'count-query', 'min-count', 'step', 'unit', 'judge'] as const;
const JUDGE_KINDS = ['threshold', 'relative', 'mann-whitney'] as const;
const DIRECTIONS = ['increase', 'decrease', 'both'] as const;
const UNITS = ['ratio', 'seconds', 'count', 'none'] as const;
const POLICIES = ['stop', 'continue', 'extend'] as const;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/**
 * Reads the `analysis` input: empty or `default` → the default spec of
 * `options.defaultProvider`; otherwise inline YAML / JSON, or the path of a YAML / JSON file.
 */
export function parseAnalysisSpec(input: string, options: ParseSpecOptions = {}): AnalysisSpec {
  const text = input.trim();
  const inputName = options.inputName ?? 'analysis';
  if (text === '' || text === 'default') {
    if (!options.defaultProvider) {
      throw new UserError(
        `Input '${inputName}' is empty and there is no default analysis here.`,
        'Write an analysis spec (see docs/analysis.md).',
      );
    }
    const spec = defaultAnalysisSpec(options.defaultProvider, {
      prometheus: options.prometheus,
      cloudMonitoring: options.cloudMonitoring,
    });
    checkAgainstOptions(spec, new SpecReader(spec.source), options);
    return spec;
  }
  let source = 'inline';
  let body = text;
  if (!text.includes('\n') && !text.startsWith('{')) {
    const base = options.workspace ?? process.env.GITHUB_WORKSPACE ?? process.cwd();
    const path = isAbsolute(text) ? text : resolve(base, text);
    if (existsSync(path) && statSync(path).isFile()) {
      source = text;
      body = readFileSync(path, 'utf8');
    } else if (!/:\s/.test(text)) {
      throw new UserError(
        `Input '${inputName}' names a file that does not exist: ${text} (looked for ${path}).`,
        'Check out the repository before this step, fix the path (relative to the workspace), or write the spec inline as YAML.',
      );
    }
  }
  const doc = parseDocument(body, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0] as { message: string; linePos?: Array<{ line: number; col: number }> };
    const at = e.linePos?.[0] ? ` (line ${e.linePos[0].line}, column ${e.linePos[0].col})` : '';
    const firstLine = e.message.split('\n')[0] ?? e.message;
    throw new UserError(
      `The analysis spec${source === 'inline' ? '' : ` ${source}`} is not valid YAML or JSON: ${firstLine}${at}.`,
      'Check indentation and quoting; see docs/analysis.md for examples.',
    );
  }
  return buildSpec(doc.toJS() as unknown, source, options);
}

/** Checks an already-structured spec (e.g. from a workflow's JSON) the same way. */
export function buildSpec(raw: unknown, source: string, options: ParseSpecOptions = {}): AnalysisSpec {
  const r: SpecReader = new SpecReader(source);
  const top = r.mapping(raw, 'the top level', TOP_KEYS);
  const intervalMs = r.duration(top, 'interval', '', SPEC_DEFAULTS.interval, MIN_INTERVAL_MS) as number;
  const failureLimit = r.integer(top, 'failure-limit', '', SPEC_DEFAULTS.failureLimit, 1, 100);
  const errorLimit = r.integer(top, 'error-limit', '', SPEC_DEFAULTS.errorLimit, 1, 100);
  const lookbackMs = r.duration(top, 'lookback', '', undefined, MIN_STEP_MS);
  const onInconclusive = r.choice(top, 'on-inconclusive', '', POLICIES, SPEC_DEFAULTS.onInconclusive);
  if (top['max-extension'] !== undefined && onInconclusive !== 'extend') {
    r.fail(
      'max-extension',
      'only applies with on-inconclusive: extend',
      "Add 'on-inconclusive: extend' or remove max-extension.",
    );
  }
  const maxExtensionMs = r.duration(top, 'max-extension', '', SPEC_DEFAULTS.maxExtension, MIN_INTERVAL_MS) as number;
  const stepMs = r.duration(top, 'step', '', SPEC_DEFAULTS.step, MIN_STEP_MS) as number;
  const defaultProvider = r.string(
    top,
    'provider',
    '',
    'Write the provider most metrics use: cloudwatch, prometheus or cloud-monitoring.',
  );
  const defaultMinCount = r.integer(top, 'min-count', '', 0, 0, 1e9);

  const rawMetrics = top.metrics;
  if (!Array.isArray(rawMetrics) || rawMetrics.length === 0) {
    r.fail(
      'metrics',
      rawMetrics === undefined || rawMetrics === null
        ? 'is missing'
        : Array.isArray(rawMetrics)
          ? 'is empty'
          : `must be a list, not ${describe(rawMetrics)}`,
      "List what to judge under 'metrics:', each with name, provider, query and judge; or leave the input empty for the platform SLO defaults.",
    );
  }
  const seen = new Set<string>();
  const metrics = rawMetrics.map((item, i): MetricSpec => {
    const path = `metrics[${i}]`;
    const m = r.mapping(item, path, METRIC_KEYS);
    const name = r.string(m, 'name', path, 'Give every metric a short name, e.g. error-rate.');
    if (name === undefined)
      r.fail(`${path}.name`, 'is missing', 'Give every metric a short name, e.g. error-rate or p95-latency.');
    if (!NAME.test(name))
      r.fail(
        `${path}.name`,
        `must be letters, digits, '.', '_' or '-' (up to 63), not ${describe(name)}`,
        'For example: error-rate, p95_latency.',
      );
    if (seen.has(name))
      r.fail(
        `${path}.name`,
        `repeats '${name}'`,
        'Give every metric a different name: the report and the verdicts refer to them by name.',
      );
    seen.add(name);
    const provider =
      r.string(m, 'provider', path, 'Write the provider: cloudwatch, prometheus or cloud-monitoring.') ??
      defaultProvider;
    if (provider === undefined) {
      r.fail(
        `${path}.provider`,
        'is missing',
        "Write the provider for this metric (e.g. 'provider: prometheus'), or one 'provider:' at the top level for all metrics.",
      );
    }
    const query = r.string(
      m,
      'query',
      path,
      'Write the query, e.g. alb:error-rate for CloudWatch or a PromQL expression.',
    );
    if (query === undefined)
      r.fail(
        `${path}.query`,
        'is missing',
        'Write the query, e.g. alb:error-rate for CloudWatch or a PromQL expression.',
      );
    checkPlaceholders(r, `${path}.query`, query);
    const countQuery = r.string(
      m,
      'count-query',
      path,
      'Write a query returning the number of requests, e.g. sum(increase(http_requests_total{...}[{{range}}])).',
    );
    if (countQuery !== undefined) checkPlaceholders(r, `${path}.count-query`, countQuery);
    const minCount = r.integer(m, 'min-count', path, defaultMinCount, 0, 1e9);
    const stepSeconds = Math.round((r.duration(m, 'step', path, undefined, MIN_STEP_MS) ?? stepMs) / 1000);
    const { judge, unit: inferred } = parseJudge(r, m.judge, `${path}.judge`);
    const unit = r.choice(m, 'unit', path, UNITS, inferred ?? 'none');
    return { name, provider, query, ...(countQuery ? { countQuery } : {}), minCount, stepSeconds, unit, judge };
  });

  const spec: AnalysisSpec = {
    intervalMs,
    failureLimit,
    errorLimit,
    ...(lookbackMs !== undefined ? { lookbackMs } : {}),
    onInconclusive,
    maxExtensionMs,
    metrics,
    source,
    ...(top.smoke !== undefined ? { smoke: buildSmokeSpec(top.smoke) } : {}),
    ...(top.load !== undefined ? { load: buildLoadSpec(top.load) } : {}),
  };
  checkAgainstOptions(spec, r, options);
  return spec;
}

function parseJudge(r: SpecReader, raw: unknown, path: string): { judge: JudgeSpec; unit?: MetricUnit } {
  const hint =
    'Write exactly one of: threshold: { max: 1% }, relative: { tolerance: 10% }, mann-whitney: { confidence: 0.95 }.';
  if (raw === undefined || raw === null) r.fail(path, 'is missing', hint);
  const j = r.mapping(raw, path, JUDGE_KINDS);
  const kinds = Object.keys(j);
  if (kinds.length !== 1)
    r.fail(
      path,
      kinds.length === 0 ? 'names no judge' : `names ${kinds.length} judges (${kinds.join(', ')})`,
      `${hint} Use two metrics to judge one query two ways.`,
    );
  const kind = kinds[0] as JudgeKind;
  const p = `${path}.${kind}`;
  const body = j[kind] ?? {};
  if (kind === 'threshold') {
    const t = r.mapping(body, p, ['max', 'min']);
    const max = r.quantity(t, 'max', p);
    const min = r.quantity(t, 'min', p);
    if (!max && !min)
      r.fail(
        p,
        'needs max or min',
        'For example threshold: { max: 1% } for an error rate, or { max: 500ms } for a latency.',
      );
    if (max && min && min.value >= max.value)
      r.fail(`${p}.min`, `(${min.value}) must be below max (${max.value})`, 'Swap them, or drop one.');
    return {
      judge: { kind, ...(max ? { max: max.value } : {}), ...(min ? { min: min.value } : {}) },
      unit: max?.unit ?? min?.unit,
    };
  }
  if (kind === 'relative') {
    const t = r.mapping(body, p, ['tolerance', 'margin', 'direction']);
    const tolerance = r.fraction(t, 'tolerance', p, SPEC_DEFAULTS.relativeTolerance, 0, 100);
    const margin = r.quantity(t, 'margin', p);
    if (margin && margin.value < 0)
      r.fail(
        `${p}.margin`,
        'must not be negative',
        'Write an absolute allowance such as 0.1% or 20ms, or leave it out.',
      );
    const direction = r.choice(t, 'direction', p, DIRECTIONS, 'increase');
    return { judge: { kind, tolerance, margin: margin?.value ?? 0, direction }, unit: margin?.unit };
  }
  const t = r.mapping(body, p, ['confidence', 'min-samples', 'direction', 'tolerance']);
  const confidence = r.fraction(t, 'confidence', p, SPEC_DEFAULTS.confidence, 0.5, 0.9999, true);
  const minSamples = r.integer(t, 'min-samples', p, SPEC_DEFAULTS.minSamples, 3, 100_000);
  const direction = r.choice(t, 'direction', p, DIRECTIONS, 'increase');
  const tolerance = r.fraction(t, 'tolerance', p, 0, 0, 100);
  return { judge: { kind, confidence, minSamples, direction, tolerance } };
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** The `{{name}}` placeholders of a query, in order of appearance, without duplicates. */
export function placeholdersOf(query: string): string[] {
  return [...new Set(Array.from(query.matchAll(PLACEHOLDER), (m) => m[1] as string))];
}

function checkPlaceholders(r: SpecReader, path: string, query: string): void {
  for (const name of placeholdersOf(query)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      r.fail(
        path,
        `has a placeholder '{{${name}}}' that is not a label name`,
        'Placeholders are {{label}} with a label of the rollout (e.g. {{deployment}}, {{targetGroup}}) or {{range}}, {{window}}, {{step}}.',
      );
    }
  }
  const open = (query.match(/\{\{/g) ?? []).length;
  const close = (query.match(/\}\}/g) ?? []).length;
  if (open !== close) r.fail(path, 'has an unclosed {{ placeholder', 'Write placeholders as {{name}}.');
}

function checkAgainstOptions(spec: AnalysisSpec, r: SpecReader, options: ParseSpecOptions): void {
  spec.metrics.forEach((m, i) => {
    if (options.providers && !options.providers.includes(m.provider)) {
      r.fail(
        `metrics[${i}].provider`,
        `is '${m.provider}', which is not available here`,
        `Available providers: ${options.providers.join(', ') || 'none'}.`,
      );
    }
    if (options.labels) {
      for (const [field, q] of [
        ['query', m.query],
        ['count-query', m.countQuery],
      ] as const) {
        for (const name of placeholdersOf(q ?? '')) {
          if (!options.labels.includes(name) && !(BUILTIN_PLACEHOLDERS as readonly string[]).includes(name)) {
            r.fail(
              `metrics[${i}].${field}`,
              `uses {{${name}}}, which this rollout does not supply`,
              `Placeholders available here: ${[...options.labels, ...BUILTIN_PLACEHOLDERS].map((l) => `{{${l}}}`).join(', ')}.`,
            );
          }
        }
      }
    }
  });
}

// ---------------------------------------------------------------------------------------

function join(path: string, key: string): string {
  return path === '' || path === 'the top level' ? key : `${path}.${key}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `'${value.length > 60 ? `${value.slice(0, 57)}...` : value}'`;
  return String(value);
}

function pct(n: number): string {
  return `${+(n * 100).toFixed(4)}%`;
}

/** The allowed key closest to `key`: camelCase/snake_case spellings or at most two edits away. */
function suggest(key: string, allowed: readonly string[]): string | undefined {
  const kebab = key
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/_/g, '-')
    .toLowerCase();
  if (allowed.includes(kebab)) return kebab;
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const d = editDistance(kebab, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] as number;
}
