/**
 * CloudWatch GetMetricData as an analysis metric provider.
 *
 * Query language (docs/analysis.md has the reference):
 *
 *   alb:error-rate                 HTTPCode_Target_5XX_Count / RequestCount of one target group
 *   alb:4xx-rate                   HTTPCode_Target_4XX_Count / RequestCount
 *   alb:connection-error-rate      TargetConnectionErrorCount / RequestCount
 *   alb:p95-latency                TargetResponseTime p95 (any pNN or pNN.N), in seconds
 *   alb:average-latency            TargetResponseTime Average, in seconds
 *   alb:request-count              RequestCount Sum
 *
 * ALB shorthands take the target group and load balancer from the rollout's `targetGroup`
 * and `loadBalancer` labels (ARNs or dimension values), or from an explicit selector:
 * `alb:error-rate{TargetGroup="targetgroup/web/0123", LoadBalancer="app/edge/4567"}`.
 * They report the window's RequestCount as the count behind the value.
 *
 * General form, any namespace, metric, statistic and dimensions, and the ratio of two:
 *
 *   AWS/ApplicationELB TargetResponseTime p99 {TargetGroup="...", LoadBalancer="..."}
 *   MyApp Errors Sum {Service="web"} / MyApp Requests Sum {Service="web"}
 *
 * Ratios are computed here from two MetricStat queries rather than with metric math, so
 * they behave the same against every endpoint (moto returns nothing for math expressions).
 *
 * Only this rollout's data is judged. CloudWatch stamps each datapoint with the start of
 * its period and rounds a request's start time down to the period (the whole minute for
 * ALB metrics), so a window that opens mid-minute would get the whole minute, including
 * traffic from before the rollout's first shift (e.g. a canary rolled back a few seconds
 * earlier on the same target group). When the window's first period would begin before
 * `window.notBefore`, the request starts at `notBefore` and every datapoint stamped before
 * it is dropped: on AWS that is the whole mixed minute (ALB metrics cannot be split), on an
 * endpoint that honours the exact start only the seconds before the shift. Averages are
 * then computed from Sum / SampleCount per period, and statistics that need one period
 * spanning the window (percentiles) start at the first whole minute after `notBefore`.
 * The result's `excluded` says what was left out.
 */
import {
  CloudWatchClient,
  GetMetricDataCommand,
  type MetricDataQuery,
  type MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import type { MetricProvider, MetricQuery, MetricResult, SubjectLabels } from '../analysis/types.js';
import { errorMessage, UserError } from '../util/errors.js';
import { awsClient, awsErrorCode, type AwsClientOptions } from './client.js';

export interface Dimension {
  Name: string;
  Value: string;
}

/** One CloudWatch metric and statistic. */
export interface StatRef {
  namespace: string;
  metric: string;
  stat: string;
  dimensions: Dimension[];
}

/** A parsed query: one statistic, or the ratio of two; and what counts as its request count. */
export interface ParsedCloudWatchQuery {
  numerator: StatRef;
  denominator?: StatRef;
  count?: StatRef;
  /** Whether the namespace publishes at one-minute resolution (AWS/*): periods of 60 s or more. */
  standardResolution: boolean;
}

const STAT =
  /^(SampleCount|Average|Sum|Minimum|Maximum|IQM|p(?:100|\d{1,2}(?:\.\d+)?)|(?:tm|wm|tc|ts)\d{1,2}(?:\.\d+)?|(?:TM|WM|TC|TS|PR)\([^)]*\))$/;
const ADDITIVE = new Set(['Sum', 'SampleCount']);
const ALB = 'AWS/ApplicationELB';

const SYNTAX_HINT =
  'Write an ALB shorthand (alb:error-rate, alb:p95-latency, alb:average-latency, alb:4xx-rate, alb:connection-error-rate, alb:request-count) ' +
  'or NAMESPACE METRIC STAT {Dimension="value", ...}, optionally divided by another: A / B.';

/** `arn:...:targetgroup/name/id` → `targetgroup/name/id`; `arn:...:loadbalancer/app/name/id` → `app/name/id`. */
export function albDimensionValue(value: string): string {
  const v = value.trim();
  const tg = /^arn:[^:]+:elasticloadbalancing:[^:]*:\d*:(targetgroup\/.+)$/.exec(v);
  if (tg) return tg[1] as string;
  const lb = /^arn:[^:]+:elasticloadbalancing:[^:]*:\d*:loadbalancer\/(.+)$/.exec(v);
  if (lb) return lb[1] as string;
  return v;
}

function splitOutside(text: string, separator: RegExp): string[] {
  // Split on a separator that is not inside quotes or braces.
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
    else if (!quoted && c === '{') depth++;
    else if (!quoted && c === '}') depth--;
    else if (!quoted && depth === 0) {
      separator.lastIndex = i;
      const m = separator.exec(text);
      if (m && m.index === i) {
        parts.push(text.slice(last, i));
        last = i + m[0].length;
        i = last - 1;
      }
    }
  }
  parts.push(text.slice(last));
  return parts;
}

function parseSelector(text: string, query: string): Dimension[] {
  const inner = text.trim().replace(/^\{/, '').replace(/\}$/, '').trim();
  if (inner === '') return [];
  return splitOutside(inner, /,/y).map((pair) => {
    const m = /^\s*([A-Za-z0-9_.:-]+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*$/.exec(pair);
    if (!m) {
      throw new UserError(
        `The CloudWatch query has a dimension that is not Name="value": '${pair.trim()}'. Query: ${query}`,
        SYNTAX_HINT,
      );
    }
    return { Name: m[1] as string, Value: (m[2] as string).replace(/\\(.)/g, '$1') };
  });
}

function albDimensions(selector: string | undefined, labels: SubjectLabels | undefined, query: string): Dimension[] {
  if (selector !== undefined) {
    const dims = parseSelector(selector, query).map((d) => ({ Name: d.Name, Value: albDimensionValue(d.Value) }));
    const names = dims.map((d) => d.Name);
    if (!names.includes('TargetGroup') || !names.includes('LoadBalancer')) {
      throw new UserError(
        `The ALB shorthand needs both TargetGroup and LoadBalancer dimensions (ALB publishes target group metrics with both). Query: ${query}`,
        'Write e.g. alb:error-rate{TargetGroup="targetgroup/web/0123abcd", LoadBalancer="app/edge/4567ef01"}.',
      );
    }
    return dims;
  }
  const tg = labels?.targetGroup;
  const lb = labels?.loadBalancer;
  if (!tg || !lb) {
    throw new UserError(
      `'${query}' needs the target group and load balancer, but the rollout supplied ${labels ? `only ${Object.keys(labels).join(', ') || 'no labels'}` : 'no labels'}.`,
      'ALB shorthands work with targets behind an ALB (task sets with weighted target groups). Otherwise name the dimensions: alb:error-rate{TargetGroup="targetgroup/name/id", LoadBalancer="app/name/id"}.',
    );
  }
  // The order ALB publishes them in; CloudWatch itself ignores the order.
  return [
    { Name: 'TargetGroup', Value: albDimensionValue(tg) },
    { Name: 'LoadBalancer', Value: albDimensionValue(lb) },
  ];
}

function parseShorthand(text: string, labels: SubjectLabels | undefined, query: string): ParsedCloudWatchQuery {
  const m = /^alb:([a-z0-9.-]+)\s*(\{.*\})?$/s.exec(text);
  if (!m) throw new UserError(`'${text}' is not an ALB shorthand. Query: ${query}`, SYNTAX_HINT);
  const name = m[1] as string;
  const dims = () => albDimensions(m[2], labels, query);
  const ref = (metric: string, stat: string): StatRef => ({ namespace: ALB, metric, stat, dimensions: dims() });
  const requests = () => ref('RequestCount', 'Sum');
  const ratioOf = (metric: string): ParsedCloudWatchQuery => ({
    numerator: ref(metric, 'Sum'),
    denominator: requests(),
    count: requests(),
    standardResolution: true,
  });
  switch (name) {
    case 'error-rate':
    case '5xx-rate':
      return ratioOf('HTTPCode_Target_5XX_Count');
    case '4xx-rate':
      return ratioOf('HTTPCode_Target_4XX_Count');
    case 'connection-error-rate':
      return ratioOf('TargetConnectionErrorCount');
    case 'average-latency':
      return { numerator: ref('TargetResponseTime', 'Average'), count: requests(), standardResolution: true };
    case 'request-count':
      return { numerator: requests(), count: requests(), standardResolution: true };
  }
  const pct = /^(p\d{1,2}(?:\.\d+)?)-latency$/.exec(name);
  if (pct)
    return { numerator: ref('TargetResponseTime', pct[1] as string), count: requests(), standardResolution: true };
  throw new UserError(`'alb:${name}' is not an ALB shorthand. Query: ${query}`, SYNTAX_HINT);
}

function parseStat(text: string, query: string): StatRef {
  const brace = text.indexOf('{');
  const head = (brace >= 0 ? text.slice(0, brace) : text).trim();
  const selector = brace >= 0 ? text.slice(brace) : undefined;
  if (selector !== undefined && !selector.trim().endsWith('}'))
    throw new UserError(`The CloudWatch query has an unclosed {. Query: ${query}`, SYNTAX_HINT);
  const words = head.split(/\s+/).filter(Boolean);
  if (words.length !== 3) {
    throw new UserError(`'${text.trim()}' is not NAMESPACE METRIC STAT {dimensions}. Query: ${query}`, SYNTAX_HINT);
  }
  const [namespace, metric, stat] = words as [string, string, string];
  if (!STAT.test(stat)) {
    throw new UserError(
      `'${stat}' is not a CloudWatch statistic. Query: ${query}`,
      'Use Sum, Average, Minimum, Maximum, SampleCount, a percentile such as p95 or p99.9, or a trimmed mean such as tm90.',
    );
  }
  return { namespace, metric, stat, dimensions: selector ? parseSelector(selector, query) : [] };
}

/** Parses a CloudWatch analysis query; shorthands read their dimensions from `labels`. */
export function parseCloudWatchQuery(query: string, labels?: SubjectLabels): ParsedCloudWatchQuery {
  const text = query.trim();
  if (text.startsWith('alb:')) return parseShorthand(text, labels, query);
  const parts = splitOutside(text, /\s+\/\s+/y);
  if (parts.length > 2)
    throw new UserError(`A CloudWatch query divides at most two statistics. Query: ${query}`, SYNTAX_HINT);
  const numerator = parseStat(parts[0] as string, query);
  const denominator = parts[1] !== undefined ? parseStat(parts[1], query) : undefined;
  const standardResolution = [numerator, denominator].every((r) => !r || r.namespace.startsWith('AWS/'));
  // The denominator of a ratio of sums is what the value stands on (e.g. requests).
  const count = denominator && ADDITIVE.has(denominator.stat) ? denominator : undefined;
  return { numerator, ...(denominator ? { denominator } : {}), ...(count ? { count } : {}), standardResolution };
}

/** A valid GetMetricData period for a step: 1-minute multiples, or 10/30 s for high-resolution custom metrics. */
export function periodFor(stepSeconds: number, standardResolution: boolean): number {
  if (!standardResolution && stepSeconds < 60) return stepSeconds <= 10 ? 10 : 30;
  return Math.max(60, Math.ceil(stepSeconds / 60) * 60);
}

export interface CloudWatchProviderOptions extends AwsClientOptions {
  /** Name specs use in `provider:`. Default 'cloudwatch'. */
  name?: string;
  /** A ready client (tests); otherwise one is made with awsClient(). */
  client?: CloudWatchClient;
}

function key(ref: StatRef): string {
  return JSON.stringify([ref.namespace, ref.metric, ref.stat, ref.dimensions]);
}

interface Series {
  timestamps: number[];
  values: number[];
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

export function createCloudWatchProvider(options: CloudWatchProviderOptions): MetricProvider {
  const client = options.client ?? awsClient(CloudWatchClient, 'CloudWatch', options);
  const name = options.name ?? 'cloudwatch';

  async function fetchSeries(
    queries: Array<{ id: string; ref: StatRef; period: number }>,
    start: Date,
    end: Date,
    text: string,
    signal?: AbortSignal,
  ): Promise<Map<string, Series>> {
    const out = new Map<string, Series>(queries.map((q) => [q.id, { timestamps: [], values: [] }]));
    const MetricDataQueries: MetricDataQuery[] = queries.map((q) => ({
      Id: q.id,
      MetricStat: {
        Metric: { Namespace: q.ref.namespace, MetricName: q.ref.metric, Dimensions: q.ref.dimensions },
        Period: q.period,
        Stat: q.ref.stat,
      },
      ReturnData: true,
    }));
    let NextToken: string | undefined;
    do {
      let results: MetricDataResult[];
      try {
        const res = await client.send(
          new GetMetricDataCommand({
            StartTime: start,
            EndTime: end,
            MetricDataQueries,
            ScanBy: 'TimestampAscending',
            NextToken,
          }),
          { abortSignal: signal },
        );
        results = res.MetricDataResults ?? [];
        NextToken = res.NextToken;
      } catch (err) {
        throw explain(err, text);
      }
      for (const r of results) {
        if (r.StatusCode === 'Forbidden') {
          throw new UserError(
            `CloudWatch refused to return ${r.Label ?? r.Id} (Forbidden). Query: ${text}`,
            'Allow cloudwatch:GetMetricData to the deploy role.',
          );
        }
        if (r.StatusCode === 'InternalError') {
          throw new Error(
            `CloudWatch could not compute ${r.Label ?? r.Id}: ${(r.Messages ?? []).map((m) => m.Value).join('; ') || 'InternalError'}`,
          );
        }
        const series = out.get(r.Id ?? '');
        if (!series) continue;
        (r.Timestamps ?? []).forEach((t, i) => {
          const v = r.Values?.[i];
          if (v !== undefined && Number.isFinite(v)) {
            series.timestamps.push(new Date(t).getTime());
            series.values.push(v);
          }
        });
      }
    } while (NextToken);
    for (const s of out.values()) {
      // Pages each hold ascending runs; keep the series ordered overall.
      const order = s.timestamps
        .map((_, i) => i)
        .sort((a, b) => (s.timestamps[a] as number) - (s.timestamps[b] as number));
      s.timestamps = order.map((i) => s.timestamps[i] as number);
      s.values = order.map((i) => s.values[i] as number);
    }
    return out;
  }

  return {
    name,
    async query(q: MetricQuery, signal?: AbortSignal): Promise<MetricResult> {
      const parsed = parseCloudWatchQuery(q.query, q.labels);
      const need = q.need ?? 'both';
      const end = q.window.end.getTime();
      const notBefore = (q.window.notBefore ?? q.window.start).getTime();
      // CloudWatch rounds recent start times down to the minute; do it here so every endpoint agrees...
      const aligned = Math.floor(q.window.start.getTime() / 60_000) * 60_000;
      // ...unless that minute began before this rollout's data did (see the header).
      const mixed = aligned < notBefore;
      const start = mixed ? Math.ceil(notBefore / 1000) * 1000 : aligned;
      const wholeStart = mixed ? Math.ceil(notBefore / 60_000) * 60_000 : aligned;
      const excluded = mixed
        ? `CloudWatch data from periods that began before this rollout's first shift (${new Date(notBefore).toISOString()}) left out: ` +
          `they may hold traffic from before it (ALB metrics come in whole minutes; judging starts with the first period of this rollout's own)`
        : undefined;
      const withNote = (r: MetricResult): MetricResult => (excluded ? { ...r, excluded } : r);
      if (end - start < 1000) return withNote({ value: undefined, samples: [], ...(parsed.count ? { count: 0 } : {}) });
      const stepPeriod = periodFor(q.stepSeconds, parsed.standardResolution);
      const windowPeriod = Math.max(60, Math.ceil((end - wholeStart) / 60_000) * 60);

      const refs = [parsed.numerator, parsed.denominator, parsed.count].filter((r): r is StatRef => r !== undefined);
      // Additive and min/max statistics over the window follow from the step series;
      // the others (averages, percentiles) need one period spanning the window.
      const queries: Array<{ id: string; ref: StatRef; period: number }> = [];
      const windowQueries: Array<{ id: string; ref: StatRef; period: number }> = [];
      const ids = new Map<string, { step?: string; window?: string; sum?: string; n?: string }>();
      for (const ref of refs) {
        const k = key(ref);
        const entry = ids.get(k) ?? {};
        const decomposable = ADDITIVE.has(ref.stat) || ref.stat === 'Minimum' || ref.stat === 'Maximum';
        const wantsValue = need !== 'samples' || ref === parsed.count;
        if ((need !== 'value' || decomposable) && !entry.step) {
          entry.step = `s${queries.length}`;
          queries.push({ id: entry.step, ref, period: stepPeriod });
        }
        if (wantsValue && !decomposable && mixed && ref.stat === 'Average' && !entry.sum) {
          // Sum / SampleCount per period: the window's average without a period that began too early.
          entry.sum = `a${queries.length}`;
          queries.push({ id: entry.sum, ref: { ...ref, stat: 'Sum' }, period: stepPeriod });
          entry.n = `n${queries.length}`;
          queries.push({ id: entry.n, ref: { ...ref, stat: 'SampleCount' }, period: stepPeriod });
        } else if (wantsValue && !decomposable && !entry.window && end - wholeStart >= 1000) {
          entry.window = `w${queries.length + windowQueries.length}`;
          windowQueries.push({ id: entry.window, ref, period: windowPeriod });
        }
        ids.set(k, entry);
      }
      const [stepSeries, windowSeries] = await Promise.all([
        queries.length
          ? fetchSeries(queries, new Date(start), new Date(end), q.query, signal)
          : new Map<string, Series>(),
        windowQueries.length
          ? fetchSeries(windowQueries, new Date(wholeStart), new Date(end), q.query, signal)
          : new Map<string, Series>(),
      ]);
      const series = new Map<string, Series>([...stepSeries, ...windowSeries]);
      if (mixed) {
        // AWS stamps the minute it rounded the start down to: never this rollout's alone.
        for (const [id, s] of series) {
          const keep = s.timestamps.map((t) => t >= notBefore);
          series.set(id, {
            timestamps: s.timestamps.filter((_, i) => keep[i]),
            values: s.values.filter((_, i) => keep[i]),
          });
        }
      }

      const stepOf = (ref: StatRef): Series =>
        series.get(ids.get(key(ref))?.step ?? '') ?? { timestamps: [], values: [] };
      const valueOf = (ref: StatRef): number | undefined => {
        const entry = ids.get(key(ref)) ?? {};
        if (ADDITIVE.has(ref.stat) || ref.stat === 'Minimum' || ref.stat === 'Maximum') {
          const values = stepOf(ref).values;
          if (values.length === 0) return undefined;
          return ADDITIVE.has(ref.stat)
            ? sum(values)
            : ref.stat === 'Minimum'
              ? Math.min(...values)
              : Math.max(...values);
        }
        if (entry.sum && entry.n) {
          const total = sum(series.get(entry.sum)?.values ?? []);
          const n = sum(series.get(entry.n)?.values ?? []);
          return n > 0 ? total / n : undefined;
        }
        const values = series.get(entry.window ?? '')?.values ?? [];
        // One period spans the window; CloudWatch may still split it at an hour boundary.
        return values.length === 0 ? undefined : sum(values) / values.length;
      };

      const count = parsed.count ? (valueOf(parsed.count) ?? 0) : undefined;
      const num = parsed.numerator;
      const den = parsed.denominator;
      let value: number | undefined;
      let samples: number[] = [];
      if (!den) {
        if (need !== 'samples') value = valueOf(num);
        if (need !== 'value') samples = stepOf(num).values;
      } else {
        // Missing datapoints of a count (ALB publishes none when zero) mean zero.
        const zeroWhenMissing = ADDITIVE.has(num.stat);
        if (need !== 'samples') {
          const d = valueOf(den);
          const n = valueOf(num) ?? (zeroWhenMissing && d !== undefined ? 0 : undefined);
          value = d !== undefined && d !== 0 && n !== undefined ? n / d : undefined;
        }
        if (need !== 'value') {
          const ns = stepOf(num);
          const byTime = new Map(ns.timestamps.map((t, i) => [t, ns.values[i] as number]));
          const ds = stepOf(den);
          samples = ds.timestamps.flatMap((t, i) => {
            const d = ds.values[i] as number;
            const n = byTime.get(t) ?? (zeroWhenMissing ? 0 : undefined);
            return d > 0 && n !== undefined ? [n / d] : [];
          });
        }
      }
      return withNote({ value, samples, ...(count !== undefined ? { count } : {}) });
    },
  };
}

/** An SDK error as something a user can act on, or a plain error for transient trouble. */
function explain(err: unknown, query: string): Error {
  const code = awsErrorCode(err);
  if (code === 'AccessDenied' || code === 'AccessDeniedException' || code === 'UnauthorizedOperation') {
    return new UserError(
      `CloudWatch refused GetMetricData (${code}): ${errorMessage(err)}`,
      'Allow cloudwatch:GetMetricData (resource "*") to the role the workflow assumes.',
      { cause: err },
    );
  }
  if (code && /^(InvalidParameter|MissingParameter|Validation|InvalidNextToken)/.test(code)) {
    return new UserError(
      `CloudWatch rejected the query (${code}): ${errorMessage(err)}. Query: ${query}`,
      SYNTAX_HINT,
      { cause: err },
    );
  }
  if (err instanceof SyntaxError || (err as { name?: string }).name === 'SyntaxError') {
    return new Error(
      `the CloudWatch endpoint answered something that is not a CloudWatch response (${errorMessage(err).split('\n')[0]})`,
      { cause: err },
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}
