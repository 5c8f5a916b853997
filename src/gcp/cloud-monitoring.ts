/**
 * Cloud Monitoring as an analysis metric provider (`provider: cloud-monitoring`):
 * projects.timeSeries.list with a monitoring filter and an aggregation, and the ratio
 * of two such queries. docs/analysis.md has the reference.
 *
 *   FILTER | ALIGNER [| REDUCER] [/ FILTER | ALIGNER [| REDUCER]]
 *
 *   metric.type="prometheus.googleapis.com/http_requests_total/counter" AND metric.labels.code=monitoring.regex.full_match("5..")
 *     | ALIGN_RATE | REDUCE_SUM
 *   / metric.type="prometheus.googleapis.com/http_requests_total/counter" | ALIGN_RATE | REDUCE_SUM
 *
 * The window's value is one alignment period spanning the window; samples are one period
 * per step. Periods are at least 60 s (the API's minimum), ending at the window's end; a
 * period that would reach back before `window.notBefore` (the rollout's first shift: data
 * before it is another rollout's) is not asked for, and the result says so in `excluded`. A ratio whose divisor is a
 * delta or rate summed over series reports the requests behind the value as its count.
 *
 * PromQL over the same data goes through Managed Prometheus's Prometheus-compatible API
 * with the `prometheus` provider: `managedPrometheusProvider` below.
 */
import { createPrometheusProvider, type PrometheusProvider } from '../analysis/prometheus.js';
import type { MetricProvider, MetricQuery, MetricResult } from '../analysis/types.js';
import { UserError } from '../util/errors.js';
import { googleEndpoint } from './endpoints.js';
import { GoogleApiError, googleJson } from './http.js';

/** Aggregation.Aligner values (Monitoring API v3). */
export const ALIGNERS = [
  'ALIGN_NONE',
  'ALIGN_DELTA',
  'ALIGN_RATE',
  'ALIGN_INTERPOLATE',
  'ALIGN_NEXT_OLDER',
  'ALIGN_MIN',
  'ALIGN_MAX',
  'ALIGN_MEAN',
  'ALIGN_COUNT',
  'ALIGN_SUM',
  'ALIGN_STDDEV',
  'ALIGN_COUNT_TRUE',
  'ALIGN_COUNT_FALSE',
  'ALIGN_FRACTION_TRUE',
  'ALIGN_PERCENTILE_99',
  'ALIGN_PERCENTILE_95',
  'ALIGN_PERCENTILE_50',
  'ALIGN_PERCENTILE_05',
  'ALIGN_PERCENT_CHANGE',
] as const;
/** Aggregation.Reducer values (Monitoring API v3). */
export const REDUCERS = [
  'REDUCE_NONE',
  'REDUCE_MEAN',
  'REDUCE_MIN',
  'REDUCE_MAX',
  'REDUCE_SUM',
  'REDUCE_STDDEV',
  'REDUCE_COUNT',
  'REDUCE_COUNT_TRUE',
  'REDUCE_COUNT_FALSE',
  'REDUCE_FRACTION_TRUE',
  'REDUCE_PERCENTILE_99',
  'REDUCE_PERCENTILE_95',
  'REDUCE_PERCENTILE_50',
  'REDUCE_PERCENTILE_05',
] as const;
export type Aligner = (typeof ALIGNERS)[number];
export type Reducer = (typeof REDUCERS)[number];

/** One timeSeries.list question: a filter and how to aggregate what it selects. */
export interface MonitoringPart {
  filter: string;
  aligner: Aligner;
  reducer?: Reducer;
}

export interface ParsedMonitoringQuery {
  numerator: MonitoringPart;
  denominator?: MonitoringPart;
}

const SYNTAX_HINT =
  'Write FILTER | ALIGNER [| REDUCER], optionally divided by another: A / B. For example: ' +
  'metric.type="prometheus.googleapis.com/http_requests_total/counter" AND resource.labels.namespace="{{namespace}}" | ALIGN_RATE | REDUCE_SUM';

/** Splits on a separator outside double quotes and parentheses. */
function splitOutside(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && quoted) {
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '(') depth++;
    else if (!quoted && c === ')') depth--;
    else if (!quoted && depth === 0 && text.startsWith(separator, i)) {
      parts.push(text.slice(last, i));
      last = i + separator.length;
      i = last - 1;
    }
  }
  parts.push(text.slice(last));
  return parts;
}

const alignerMissing = (query: string): UserError =>
  new UserError(
    `The Cloud Monitoring query needs an aligner after the filter (| ALIGN_RATE, | ALIGN_DELTA, | ALIGN_MEAN, ...). Query: ${query}`,
    SYNTAX_HINT,
  );

const tooManyStages = (query: string): UserError =>
  new UserError(
    `The Cloud Monitoring query has more than an aligner and a reducer after the filter. Query: ${query}`,
    SYNTAX_HINT,
  );

function parsePart(text: string, query: string): MonitoringPart {
  const [filter, ...ops] = splitOutside(text, '|').map((s) => s.trim());
  if (!filter) throw new UserError(`The Cloud Monitoring query has an empty filter. Query: ${query}`, SYNTAX_HINT);
  if (!/\bmetric\.type\s*=/.test(filter))
    throw new UserError(`The Cloud Monitoring filter must select a metric.type. Query: ${query}`, SYNTAX_HINT);
  const [aligner, reducer, ...rest] = ops.map((o) => o.toUpperCase());
  if (!aligner) throw alignerMissing(query);
  if (!(ALIGNERS as readonly string[]).includes(aligner) || aligner === 'ALIGN_NONE') {
    throw new UserError(
      `'${aligner}' is not a Cloud Monitoring aligner. Query: ${query}`,
      `Use one of ${ALIGNERS.filter((a) => a !== 'ALIGN_NONE').join(', ')}.`,
    );
  }
  if (reducer !== undefined && !(REDUCERS as readonly string[]).includes(reducer)) {
    throw new UserError(
      `'${reducer}' is not a Cloud Monitoring reducer. Query: ${query}`,
      `Use one of ${REDUCERS.join(', ')}.`,
    );
  }
  if (rest.length) throw tooManyStages(query);
  return {
    filter,
    aligner: aligner as Aligner,
    ...(reducer && reducer !== 'REDUCE_NONE' ? { reducer: reducer as Reducer } : {}),
  };
}

export function parseMonitoringQuery(query: string): ParsedMonitoringQuery {
  const parts = splitOutside(query.trim(), ' / ');
  if (parts.length > 2)
    throw new UserError(`A Cloud Monitoring query divides at most two queries. Query: ${query}`, SYNTAX_HINT);
  const numerator = parsePart(parts[0] as string, query);
  return parts[1] === undefined ? { numerator } : { numerator, denominator: parsePart(parts[1], query) };
}

/** An alignment period of at least 60 s (the API's minimum), in whole seconds. */
export function alignmentSeconds(seconds: number): number {
  return Math.max(60, Math.ceil(seconds));
}

interface TypedValue {
  boolValue?: boolean;
  int64Value?: string;
  doubleValue?: number;
  distributionValue?: { count?: string; mean?: number };
}
interface TimeSeries {
  metric?: { type?: string; labels?: Record<string, string> };
  resource?: { type?: string; labels?: Record<string, string> };
  points?: Array<{ interval?: { startTime?: string; endTime?: string }; value?: TypedValue }>;
}
interface ListTimeSeriesResponse {
  timeSeries?: TimeSeries[];
  nextPageToken?: string;
  executionErrors?: Array<{ code?: number; message?: string }>;
}

function numberOf(v: TypedValue | undefined): number | undefined {
  if (!v) return undefined;
  if (v.doubleValue !== undefined) return Number(v.doubleValue);
  if (v.int64Value !== undefined) return Number(v.int64Value);
  if (v.boolValue !== undefined) return v.boolValue ? 1 : 0;
  if (v.distributionValue)
    return v.distributionValue.mean ?? (Number(v.distributionValue.count ?? 0) === 0 ? undefined : 0);
  return undefined;
}

/** Points by end time (ms), one series. */
type Points = Map<number, number>;

export interface CloudMonitoringOptions {
  /** The project whose metrics (or metrics scope) are read. */
  project: string;
  /** A fresh OAuth access token per request (GoogleTokenSource.token). */
  token: (signal?: AbortSignal) => Promise<string>;
  /** Name specs use in `provider:`. Default 'cloud-monitoring'. */
  name?: string;
}

const listRefused = (project: string, err: GoogleApiError): UserError =>
  new UserError(
    `Cloud Monitoring refused to list time series in project ${project} (${err.code}: ${err.detail}).`,
    'Grant the identity from gcp-auth roles/monitoring.viewer on the project, and check that the Cloud Monitoring API is enabled.',
  );

function explain(err: unknown, project: string, query: string): unknown {
  if (!(err instanceof GoogleApiError) || err.httpStatus >= 500 || err.httpStatus === 429) return err;
  if (err.httpStatus === 400)
    return new UserError(
      `Cloud Monitoring rejected the query (${err.code}): ${err.detail}. Query: ${query}`,
      SYNTAX_HINT,
    );
  if (err.httpStatus === 403) {
    return listRefused(project, err);
  }
  if (err.httpStatus === 404)
    return new UserError(
      `Cloud Monitoring does not know project ${project} (${err.detail}).`,
      'Check the project id of the analysis.',
    );
  if (err.httpStatus === 401)
    return new UserError(
      `Cloud Monitoring did not accept the access token (${err.detail}).`,
      'Run gcp-auth earlier in this job.',
    );
  return err;
}

const tooManyTimeSeries = (found: TimeSeries[], shown: string, query: string): UserError =>
  new UserError(
    `The Cloud Monitoring query returned ${found.length} time series (${shown}${found.length > 3 ? ', ...' : ''}); the analysis needs one. Query: ${query}`,
    'Add a reducer (| REDUCE_SUM, | REDUCE_MEAN, | REDUCE_PERCENTILE_95, ...) or narrow the filter to one side with the {{label}} placeholders.',
  );

export function createCloudMonitoringProvider(options: CloudMonitoringOptions): MetricProvider {
  const name = options.name ?? 'cloud-monitoring';

  /** One series (reduced, or the only one the filter selects), by the end time of each period. */
  async function series(
    part: MonitoringPart,
    end: Date,
    periodSeconds: number,
    periods: number,
    query: string,
    signal?: AbortSignal,
  ): Promise<Points> {
    const start = new Date(end.getTime() - periodSeconds * periods * 1000);
    const base = `${googleEndpoint('monitoring')}/v3/projects/${encodeURIComponent(options.project)}/timeSeries`;
    const found: TimeSeries[] = [];
    let pageToken: string | undefined;
    do {
      const params = new URLSearchParams({
        filter: part.filter,
        'interval.startTime': start.toISOString(),
        'interval.endTime': end.toISOString(),
        'aggregation.alignmentPeriod': `${periodSeconds}s`,
        'aggregation.perSeriesAligner': part.aligner,
        ...(part.reducer ? { 'aggregation.crossSeriesReducer': part.reducer } : {}),
        view: 'FULL',
        ...(pageToken ? { pageToken } : {}),
      });
      const res = await googleJson<ListTimeSeriesResponse>(`${base}?${params.toString()}`, {
        token: await options.token(signal),
        signal,
      }).catch((err: unknown) => {
        throw explain(err, options.project, query);
      });
      found.push(...(res.timeSeries ?? []));
      pageToken = res.nextPageToken || undefined;
    } while (pageToken);
    if (found.length > 1) {
      const shown = found
        .slice(0, 3)
        .map(
          (s) =>
            `{${Object.entries({ ...s.resource?.labels, ...s.metric?.labels })
              .map(([k, v]) => `${k}="${v}"`)
              .join(', ')}}`,
        )
        .join(', ');
      throw tooManyTimeSeries(found, shown, query);
    }
    const points: Points = new Map();
    for (const p of found[0]?.points ?? []) {
      const v = numberOf(p.value);
      const t = Date.parse(p.interval?.endTime ?? '');
      if (v !== undefined && Number.isFinite(v) && Number.isFinite(t)) points.set(t, v);
    }
    return points;
  }

  /** The requests behind a value, when the divisor (or the only part) counts them. */
  function countOf(part: MonitoringPart, value: number | undefined, periodSeconds: number): number | undefined {
    if (part.reducer !== undefined && part.reducer !== 'REDUCE_SUM') return undefined;
    if (part.aligner === 'ALIGN_DELTA') return value ?? 0;
    if (part.aligner === 'ALIGN_RATE') return (value ?? 0) * periodSeconds;
    return undefined;
  }

  return {
    name,
    async query(q: MetricQuery, signal?: AbortSignal): Promise<MetricResult> {
      const parsed = parseMonitoringQuery(q.query);
      const need = q.need ?? 'both';
      const end = q.window.end;
      const windowSeconds = (end.getTime() - q.window.start.getTime()) / 1000;
      if (windowSeconds < 1) return { value: undefined, samples: [] };
      // Seconds of this rollout's own data within reach (a second of slack for rounding).
      const ownSeconds = (end.getTime() - (q.window.notBefore ?? q.window.start).getTime()) / 1000 + 1;
      let excluded: string | undefined;
      const tooEarly = (period: number) => {
        excluded = `a Cloud Monitoring alignment period is at least 60 s and this one (${period}s) would reach back before this rollout's first shift, so it was not asked for`;
      };
      const parts = [parsed.numerator, parsed.denominator].filter((p): p is MonitoringPart => p !== undefined);
      // A period without errors has no error series at all: zero, when the numerator counts.
      const zeroWhenMissing = ['ALIGN_DELTA', 'ALIGN_RATE', 'ALIGN_SUM', 'ALIGN_COUNT'].includes(
        parsed.numerator.aligner,
      );

      let value: number | undefined;
      let count: number | undefined;
      if (need !== 'samples' && alignmentSeconds(windowSeconds) > ownSeconds) {
        tooEarly(alignmentSeconds(windowSeconds));
        if (countOf(parsed.denominator ?? parsed.numerator, 0, 60) !== undefined) count = 0;
      } else if (need !== 'samples') {
        const period = alignmentSeconds(windowSeconds);
        const [num, den] = await Promise.all(
          parts.map(async (p) => [...(await series(p, end, period, 1, q.query, signal)).values()][0]),
        );
        if (!parsed.denominator) value = num;
        else if (den !== undefined && den !== 0) {
          const n = num ?? (zeroWhenMissing ? 0 : undefined);
          value = n === undefined ? undefined : n / den;
        }
        count = countOf(parsed.denominator ?? parsed.numerator, parsed.denominator ? den : num, period);
      }
      let samples: number[] = [];
      if (need !== 'value') {
        const period = alignmentSeconds(q.stepSeconds);
        const periods = Math.min(Math.max(1, Math.floor(windowSeconds / period)), Math.floor(ownSeconds / period));
        if (periods === 0) tooEarly(period);
        const [num, den]: Array<Points | undefined> =
          periods === 0 ? [] : await Promise.all(parts.map((p) => series(p, end, period, periods, q.query, signal)));
        const times = [...(den ?? num ?? new Map()).keys()].sort((a, b) => a - b);
        samples = times.flatMap((t) => {
          const n = num?.get(t);
          if (!den) return n === undefined ? [] : [n];
          const d = den.get(t) as number;
          const top = n ?? (zeroWhenMissing ? 0 : undefined);
          return d > 0 && top !== undefined ? [top / d] : [];
        });
      }
      return { value, samples, ...(count !== undefined ? { count } : {}), ...(excluded ? { excluded } : {}) };
    },
  };
}

/** Managed Prometheus's Prometheus-compatible query API for a project. */
export function managedPrometheusUrl(project: string): string {
  return `${googleEndpoint('monitoring')}/v1/projects/${encodeURIComponent(project)}/location/global/prometheus`;
}

/** The `prometheus` provider pointed at Google Managed Prometheus, with a fresh access token per request. */
export function managedPrometheusProvider(options: {
  project: string;
  token: () => Promise<string>;
  name?: string;
}): PrometheusProvider {
  return createPrometheusProvider({
    url: managedPrometheusUrl(options.project),
    token: options.token,
    name: options.name ?? 'prometheus',
  });
}
