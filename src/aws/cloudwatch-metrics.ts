/**
 * CloudWatch GetMetricData as an analysis metric provider; queries are parsed by
 * cloudwatch-query.ts (docs/analysis.md has the reference).
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
import type { MetricProvider, MetricQuery, MetricResult } from '../analysis/types.js';
import { errorMessage, UserError } from '../util/errors.js';
import { awsClient, awsErrorCode, type AwsClientOptions } from './client.js';
import { ADDITIVE, parseCloudWatchQuery, periodFor, SYNTAX_HINT, type StatRef } from './cloudwatch-query.js';

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
