/**
 * The part of Cloud Monitoring's projects.timeSeries.list the stand-in answers: stored
 * time series selected by a monitoring filter, aligned per series and reduced across
 * series, as the REST reference describes (https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.timeSeries/list,
 * Aggregation, TimeSeries, Point, TypedValue). Request parameters and response objects
 * are checked field by field against those shapes (`MONITORING_SHAPES`).
 */
import type { Shape } from './api-schema.js';

/** A series the test stores: counters (CUMULATIVE totals), DELTA increments or GAUGE readings. */
export interface StoredSeries {
  metric: { type: string; labels?: Record<string, string> };
  resource: { type: string; labels?: Record<string, string> };
  metricKind: 'GAUGE' | 'DELTA' | 'CUMULATIVE';
  valueType: 'INT64' | 'DOUBLE';
  points: Array<{ time: number; value: number }>;
}

/** Field names and kinds of the Monitoring v3 REST objects used here, from the reference. */
export const MONITORING_SHAPES: Record<string, Shape> = {
  ListTimeSeriesResponse: { timeSeries: 'array', nextPageToken: 'string', executionErrors: 'array', unit: 'string' },
  TimeSeries: { metric: 'object', resource: 'object', metadata: 'object', metricKind: 'string', valueType: 'string', points: 'array', unit: 'string', description: 'string' },
  Metric: { type: 'string', labels: 'object' },
  MonitoredResource: { type: 'string', labels: 'object' },
  Point: { interval: 'object', value: 'object' },
  TimeInterval: { startTime: 'string', endTime: 'string' },
  TypedValue: { boolValue: 'boolean', int64Value: 'string', doubleValue: 'number', stringValue: 'string', distributionValue: 'object' },
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

export const ALIGNERS = ['ALIGN_NONE', 'ALIGN_DELTA', 'ALIGN_RATE', 'ALIGN_INTERPOLATE', 'ALIGN_NEXT_OLDER', 'ALIGN_MIN', 'ALIGN_MAX', 'ALIGN_MEAN', 'ALIGN_COUNT', 'ALIGN_SUM', 'ALIGN_STDDEV', 'ALIGN_COUNT_TRUE', 'ALIGN_COUNT_FALSE', 'ALIGN_FRACTION_TRUE', 'ALIGN_PERCENTILE_99', 'ALIGN_PERCENTILE_95', 'ALIGN_PERCENTILE_50', 'ALIGN_PERCENTILE_05', 'ALIGN_PERCENT_CHANGE'];
export const REDUCERS = ['REDUCE_NONE', 'REDUCE_MEAN', 'REDUCE_MIN', 'REDUCE_MAX', 'REDUCE_SUM', 'REDUCE_STDDEV', 'REDUCE_COUNT', 'REDUCE_COUNT_TRUE', 'REDUCE_COUNT_FALSE', 'REDUCE_FRACTION_TRUE', 'REDUCE_PERCENTILE_99', 'REDUCE_PERCENTILE_95', 'REDUCE_PERCENTILE_50', 'REDUCE_PERCENTILE_05'];

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
    if (/\bOR\b|\bNOT\b|^\s*\(/.test(term)) throw new InvalidArgument(`The stand-in understands only comparisons joined by AND, not '${term}'.`);
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
  if (!terms.some((t) => /^\s*metric\.type\s*=/.test(t))) throw new InvalidArgument('The filter must specify a metric type.');
  return (s) => tests.every((t) => t(s));
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  return (sorted[lo] as number) + ((sorted[Math.ceil(rank)] as number) - (sorted[lo] as number)) * (rank - lo);
};

/** One series' value in the period (t0, t1], or undefined when it has no data there. */
function align(s: StoredSeries, aligner: string, t0: number, t1: number): number | undefined {
  const seconds = (t1 - t0) / 1000;
  if (s.metricKind === 'CUMULATIVE' || s.metricKind === 'DELTA') {
    if (!['ALIGN_DELTA', 'ALIGN_RATE', 'ALIGN_SUM', 'ALIGN_MEAN', 'ALIGN_MAX', 'ALIGN_MIN'].includes(aligner) || (s.metricKind === 'CUMULATIVE' && !['ALIGN_DELTA', 'ALIGN_RATE'].includes(aligner))) {
      throw new InvalidArgument(`The aligner ${aligner} cannot be applied to metrics with kind ${s.metricKind} and value type ${s.valueType}.`);
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
  if (['ALIGN_DELTA', 'ALIGN_RATE'].includes(aligner)) throw new InvalidArgument(`The aligner ${aligner} cannot be applied to metrics with kind GAUGE and value type ${s.valueType}.`);
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

function reduce(values: number[], reducer: string): number {
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

/** What timeSeries.list answers for these (checked) parameters. */
export function listTimeSeries(stored: StoredSeries[], q: Record<string, string>, project: string): Array<Record<string, unknown>> {
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
  const aligned = chosen.map((s) => ({ s, points: bounds.map(([t0, t1]) => ({ t0, t1, v: align(s, aligner, t0, t1) })).filter((p) => p.v !== undefined) as Array<{ t0: number; t1: number; v: number }> }));
  const out = (s: StoredSeries | undefined, type: string, points: Array<{ t0: number; t1: number; v: number }>, valueType: string) => ({
    metric: s ? { type, labels: s.metric.labels ?? {} } : { type },
    resource: s ? { type: s.resource.type, labels: s.resource.labels ?? {} } : { type: chosen[0]?.resource.type ?? 'global', labels: { project_id: project } },
    metricKind: aligner === 'ALIGN_DELTA' ? 'DELTA' : 'GAUGE',
    valueType,
    points: points.map((p) => ({ interval: { startTime: iso(p.t0), endTime: iso(p.t1) }, value: valueType === 'INT64' ? { int64Value: String(Math.round(p.v)) } : { doubleValue: p.v } })),
  });
  const valueType = (s: StoredSeries) => (aligner === 'ALIGN_DELTA' && s.valueType === 'INT64' ? 'INT64' : 'DOUBLE');
  if (reducer === 'REDUCE_NONE') return aligned.filter((a) => a.points.length).map((a) => out(a.s, a.s.metric.type, a.points, valueType(a.s)));
  if (chosen.length === 0) return [];
  const merged = bounds.flatMap(([t0, t1]) => {
    const values = aligned.flatMap((a) => a.points.filter((p) => p.t1 === t1).map((p) => p.v));
    return values.length ? [{ t0, t1, v: reduce(values, reducer) }] : [];
  });
  return merged.length ? [out(undefined, chosen[0]?.metric.type as string, merged, reducer === 'REDUCE_SUM' && chosen.every((s) => valueType(s) === 'INT64') ? 'INT64' : 'DOUBLE')] : [];
}
