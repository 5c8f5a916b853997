/**
 * The part of Cloud Monitoring's projects.timeSeries.list the stand-in answers: stored
 * time series selected by a monitoring filter, aligned per series and reduced across
 * series, as the REST reference describes (https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.timeSeries/list,
 * Aggregation, TimeSeries, Point, TypedValue). Request parameters and response objects
 * are checked field by field against those shapes (`MONITORING_SHAPES`).
 */
import type { Shape } from './api-schema.js';

/** Explicit-bucket histogram: counts[i] observations ≤ bounds[i] (and > bounds[i-1]); one more count for the overflow bucket. */
export interface Histogram {
  bounds: number[];
  counts: number[];
  sum: number;
}

/**
 * A series the test stores: counters (CUMULATIVE totals), DELTA increments or GAUGE
 * readings; DISTRIBUTION series (CUMULATIVE, as Managed Prometheus stores histograms)
 * carry running bucket counts in `histogram` instead of `value`.
 */
export interface StoredSeries {
  metric: { type: string; labels?: Record<string, string> };
  resource: { type: string; labels?: Record<string, string> };
  metricKind: 'GAUGE' | 'DELTA' | 'CUMULATIVE';
  valueType: 'INT64' | 'DOUBLE' | 'DISTRIBUTION';
  points: Array<{ time: number; value: number; histogram?: Histogram }>;
}

/** Field names and kinds of the Monitoring v3 REST objects used here, from the reference. */
export const MONITORING_SHAPES: Record<string, Shape> = {
  ListTimeSeriesResponse: { timeSeries: 'array', nextPageToken: 'string', executionErrors: 'array', unit: 'string' },
  TimeSeries: {
    metric: 'object',
    resource: 'object',
    metadata: 'object',
    metricKind: 'string',
    valueType: 'string',
    points: 'array',
    unit: 'string',
    description: 'string',
  },
  Metric: { type: 'string', labels: 'object' },
  MonitoredResource: { type: 'string', labels: 'object' },
  Point: { interval: 'object', value: 'object' },
  TimeInterval: { startTime: 'string', endTime: 'string' },
  TypedValue: {
    boolValue: 'boolean',
    int64Value: 'string',
    doubleValue: 'number',
    stringValue: 'string',
    distributionValue: 'object',
  },
  Distribution: {
    count: 'string',
    mean: 'number',
    sumOfSquaredDeviation: 'number',
    range: 'object',
    bucketOptions: 'object',
    bucketCounts: 'array',
    exemplars: 'array',
  },
  BucketOptions: { linearBuckets: 'object', exponentialBuckets: 'object', explicitBuckets: 'object' },
  Explicit: { bounds: 'array' },
};

/** Query parameters of projects.timeSeries.list. */
export const LIST_PARAMETERS = [
  'filter',
  'interval.startTime',
  'interval.endTime',
  'aggregation.alignmentPeriod',
  'aggregation.perSeriesAligner',
  'aggregation.crossSeriesReducer',
  'aggregation.groupByFields',
  'secondaryAggregation.alignmentPeriod',
  'secondaryAggregation.perSeriesAligner',
  'secondaryAggregation.crossSeriesReducer',
  'secondaryAggregation.groupByFields',
  'orderBy',
  'view',
  'pageSize',
  'pageToken',
];

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
];
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
];

/** A request the stand-in cannot answer the way the API would: 400 INVALID_ARGUMENT with this message. */
export class InvalidArgument extends Error {}

type Test = (s: StoredSeries) => boolean;

function field(s: StoredSeries, path: string): string | undefined {
  if (path === 'metric.type') return s.metric.type;
  if (path === 'resource.type') return s.resource.type;
  const m = /^(metric|resource)\.labels?\.([\w.-]+)$/.exec(path);
  if (m) return (m[1] === 'metric' ? s.metric.labels : s.resource.labels)?.[m[2] as string];
  throw new InvalidArgument(`The filter refers to an unknown field '${path}'.`);
}

function unquote(text: string): string {
  const m = /^"((?:[^"\\]|\\.)*)"$/.exec(text.trim());
  if (!m) throw new InvalidArgument(`Expected a quoted string, found ${text}.`);
  return (m[1] as string).replace(/\\(.)/g, '$1');
}

/** The filter language's comparisons joined by AND: =, != with a string or starts_with / ends_with / has_substring / one_of / monitoring.regex.full_match. */
export function parseFilter(filter: string): Test {
  const terms = filter.split(/\s+AND\s+/);
  const tests = terms.map((term): Test => {
    if (/\bOR\b|\bNOT\b|^\s*\(/.test(term))
      throw new InvalidArgument(`The stand-in understands only comparisons joined by AND, not '${term}'.`);
    const m = /^\s*([\w.-]+)\s*(!=|=)\s*(.+?)\s*$/.exec(term);
    if (!m) throw new InvalidArgument(`Could not parse the filter term '${term}'.`);
    const [, path, op, rhs] = m as unknown as [string, string, string, string];
    let match: (v: string | undefined) => boolean;
    const fn = /^(starts_with|ends_with|has_substring|one_of|monitoring\.regex\.full_match)\((.*)\)$/.exec(rhs);
    if (fn) {
      const args = (fn[2] as string).split(/\s*,\s*/).map(unquote);
      const [a] = args as [string];
      match = {
        starts_with: (v: string | undefined) => v?.startsWith(a) ?? false,
        ends_with: (v: string | undefined) => v?.endsWith(a) ?? false,
        has_substring: (v: string | undefined) => v?.includes(a) ?? false,
        one_of: (v: string | undefined) => v !== undefined && args.includes(v),
        'monitoring.regex.full_match': (v: string | undefined) => v !== undefined && new RegExp(`^(?:${a})$`).test(v),
      }[fn[1] as string] as (v: string | undefined) => boolean;
    } else {
      const value = unquote(rhs);
      match = (v) => v === value;
    }
    return op === '!=' ? (s) => !match(field(s, path)) : (s) => match(field(s, path));
  });
  if (!terms.some((t) => /^\s*metric\.type\s*=/.test(t)))
    throw new InvalidArgument('The filter must specify a metric type.');
  return (s) => tests.every((t) => t(s));
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  return (sorted[lo] as number) + ((sorted[Math.ceil(rank)] as number) - (sorted[lo] as number)) * (rank - lo);
};

/** The q-th percentile (0..100) of a histogram, interpolated inside its bucket as Monitoring does. */
export function histogramPercentile(h: Histogram, q: number): number | undefined {
  const total = h.counts.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = (q / 100) * total;
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    const c = h.counts[i] as number;
    if (seen + c >= rank && c > 0) {
      if (i >= h.bounds.length) return h.bounds.at(-1);
      const lower = i === 0 ? 0 : (h.bounds[i - 1] as number);
      return lower + ((h.bounds[i] as number) - lower) * ((rank - seen) / c);
    }
    seen += c;
  }
  return h.bounds.at(-1);
}

function mergeHistograms(hs: Histogram[]): Histogram {
  const first = hs[0] as Histogram;
  return {
    bounds: first.bounds,
    counts: first.counts.map((_, i) => hs.reduce((a, h) => a + (h.counts[i] ?? 0), 0)),
    sum: hs.reduce((a, h) => a + h.sum, 0),
  };
}

/** A DISTRIBUTION series' change in (t0, t1] (ALIGN_DELTA). */
function alignHistogram(s: StoredSeries, aligner: string, t0: number, t1: number): Histogram | undefined {
  if (s.metricKind !== 'CUMULATIVE' || aligner !== 'ALIGN_DELTA')
    throw new InvalidArgument(`The stand-in aligns CUMULATIVE distributions with ALIGN_DELTA only, not ${aligner}.`);
  const atOrBefore = (t: number) => s.points.filter((p) => p.time <= t).at(-1)?.histogram;
  const last = s.points.filter((p) => p.time <= t1).at(-1);
  if (!last?.histogram || last.time <= t0) return undefined;
  const before = atOrBefore(t0);
  return {
    bounds: last.histogram.bounds,
    counts: last.histogram.counts.map((c, i) => c - (before?.counts[i] ?? 0)),
    sum: last.histogram.sum - (before?.sum ?? 0),
  };
}

/** One series' value in the period (t0, t1], or undefined when it has no data there. */
function align(s: StoredSeries, aligner: string, t0: number, t1: number): number | Histogram | undefined {
  if (s.valueType === 'DISTRIBUTION') return alignHistogram(s, aligner, t0, t1);
  const seconds = (t1 - t0) / 1000;
  if (s.metricKind === 'CUMULATIVE' || s.metricKind === 'DELTA') {
    if (
      !['ALIGN_DELTA', 'ALIGN_RATE', 'ALIGN_SUM', 'ALIGN_MEAN', 'ALIGN_MAX', 'ALIGN_MIN'].includes(aligner) ||
      (s.metricKind === 'CUMULATIVE' && !['ALIGN_DELTA', 'ALIGN_RATE'].includes(aligner))
    ) {
      throw new InvalidArgument(
        `The aligner ${aligner} cannot be applied to metrics with kind ${s.metricKind} and value type ${s.valueType}.`,
      );
    }
    let delta: number | undefined;
    if (s.metricKind === 'CUMULATIVE') {
      const atOrBefore = (t: number) => s.points.filter((p) => p.time <= t).at(-1);
      const last = atOrBefore(t1);
      if (!last || last.time <= t0) return undefined;
      delta = last.value - (atOrBefore(t0)?.value ?? 0);
    } else {
      const inside = s.points.filter((p) => p.time > t0 && p.time <= t1);
      if (inside.length === 0) return undefined;
      delta = inside.reduce((a, p) => a + p.value, 0);
    }
    return aligner === 'ALIGN_RATE' ? delta / seconds : delta;
  }
  const values = s.points.filter((p) => p.time > t0 && p.time <= t1).map((p) => p.value);
  if (['ALIGN_DELTA', 'ALIGN_RATE'].includes(aligner))
    throw new InvalidArgument(
      `The aligner ${aligner} cannot be applied to metrics with kind GAUGE and value type ${s.valueType}.`,
    );
  if (values.length === 0) return undefined;
  switch (aligner) {
    case 'ALIGN_MEAN':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'ALIGN_MAX':
      return Math.max(...values);
    case 'ALIGN_MIN':
      return Math.min(...values);
    case 'ALIGN_SUM':
      return values.reduce((a, b) => a + b, 0);
    case 'ALIGN_COUNT':
      return values.length;
    case 'ALIGN_PERCENTILE_99':
    case 'ALIGN_PERCENTILE_95':
    case 'ALIGN_PERCENTILE_50':
    case 'ALIGN_PERCENTILE_05':
      return percentile(values, Number(aligner.slice(-2)));
  }
  throw new InvalidArgument(`The stand-in does not implement the aligner ${aligner}.`);
}

function reduce(values: Array<number | Histogram>, reducer: string): number | Histogram {
  if (values.some((v) => typeof v !== 'number')) {
    const merged = mergeHistograms(values as Histogram[]);
    if (reducer === 'REDUCE_SUM') return merged;
    const pct = /^REDUCE_PERCENTILE_(\d\d)$/.exec(reducer);
    if (pct) return histogramPercentile(merged, Number(pct[1])) ?? Number.NaN;
    throw new InvalidArgument(
      `The stand-in reduces distributions with REDUCE_SUM or REDUCE_PERCENTILE_nn only, not ${reducer}.`,
    );
  }
  return reduceNumbers(values as number[], reducer);
}

function reduceNumbers(values: number[], reducer: string): number {
  switch (reducer) {
    case 'REDUCE_SUM':
      return values.reduce((a, b) => a + b, 0);
    case 'REDUCE_MEAN':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'REDUCE_MAX':
      return Math.max(...values);
    case 'REDUCE_MIN':
      return Math.min(...values);
    case 'REDUCE_COUNT':
      return values.length;
    case 'REDUCE_PERCENTILE_99':
    case 'REDUCE_PERCENTILE_95':
    case 'REDUCE_PERCENTILE_50':
    case 'REDUCE_PERCENTILE_05':
      return percentile(values, Number(reducer.slice(-2)));
  }
  throw new InvalidArgument(`The stand-in does not implement the reducer ${reducer}.`);
}

const iso = (t: number) => new Date(t).toISOString();

function typedValue(v: number | Histogram, valueType: string): Record<string, unknown> {
  if (typeof v !== 'number') {
    const count = v.counts.reduce((a, b) => a + b, 0);
    return {
      distributionValue: {
        count: String(count),
        mean: count ? v.sum / count : 0,
        bucketOptions: { explicitBuckets: { bounds: v.bounds } },
        bucketCounts: v.counts.map(String),
      },
    };
  }
  return valueType === 'INT64' ? { int64Value: String(Math.round(v)) } : { doubleValue: v };
}

/** What timeSeries.list answers for these (checked) parameters. */
export function listTimeSeries(
  stored: StoredSeries[],
  q: Record<string, string>,
  project: string,
): Array<Record<string, unknown>> {
  const select = parseFilter(q.filter ?? '');
  const end = Date.parse(q['interval.endTime'] ?? '');
  const start = q['interval.startTime'] ? Date.parse(q['interval.startTime']) : end;
  const period = Number(/^(\d+(?:\.\d+)?)s$/.exec(q['aggregation.alignmentPeriod'] ?? '')?.[1] ?? 0) * 1000;
  const aligner = q['aggregation.perSeriesAligner'] ?? 'ALIGN_NONE';
  const reducer = q['aggregation.crossSeriesReducer'] ?? 'REDUCE_NONE';
  if (aligner === 'ALIGN_NONE') throw new InvalidArgument('The stand-in answers aligned queries only.');
  // Periods end at endTime and step back by the alignment period while they overlap the interval.
  const bounds: Array<[number, number]> = [];
  for (let t1 = end; t1 > start; t1 -= period) bounds.push([t1 - period, t1]);
  const chosen = stored.filter(select);
  type Aligned = { t0: number; t1: number; v: number | Histogram };
  const aligned = chosen.map((s) => ({
    s,
    points: bounds
      .map(([t0, t1]) => ({ t0, t1, v: align(s, aligner, t0, t1) }))
      .filter((p) => p.v !== undefined) as Aligned[],
  }));
  const valueType = (s: StoredSeries) =>
    s.valueType === 'DISTRIBUTION'
      ? 'DISTRIBUTION'
      : aligner === 'ALIGN_DELTA' && s.valueType === 'INT64'
        ? 'INT64'
        : 'DOUBLE';
  const out = (s: StoredSeries | undefined, points: Aligned[], type: string) => ({
    metric: s ? { type: s.metric.type, labels: s.metric.labels ?? {} } : { type: chosen[0]?.metric.type as string },
    resource: s
      ? { type: s.resource.type, labels: s.resource.labels ?? {} }
      : { type: chosen[0]?.resource.type ?? 'global', labels: { project_id: project } },
    metricKind: aligner === 'ALIGN_DELTA' ? 'DELTA' : 'GAUGE',
    valueType: type,
    points: points.map((p) => ({
      interval: { startTime: iso(p.t0), endTime: iso(p.t1) },
      value: typedValue(p.v, type),
    })),
  });
  if (reducer === 'REDUCE_NONE')
    return aligned.filter((a) => a.points.length).map((a) => out(a.s, a.points, valueType(a.s)));
  if (chosen.length === 0) return [];
  const merged = bounds.flatMap(([t0, t1]) => {
    const values = aligned.flatMap((a) => a.points.filter((p) => p.t1 === t1).map((p) => p.v));
    return values.length ? [{ t0, t1, v: reduce(values, reducer) }] : [];
  });
  const types = new Set(chosen.map(valueType));
  const type = merged.some((m) => typeof m.v !== 'number')
    ? 'DISTRIBUTION'
    : reducer === 'REDUCE_SUM' && types.size === 1 && types.has('INT64')
      ? 'INT64'
      : 'DOUBLE';
  return merged.length ? [out(undefined, merged, type)] : [];
}
