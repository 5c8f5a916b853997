/**
 * The CloudWatch analysis query language (docs/analysis.md has the reference):
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
 * Ratios are computed by the provider (cloudwatch-metrics.ts) from two MetricStat queries rather than with metric math, so
 * they behave the same against every endpoint (moto returns nothing for math expressions).
 */
import type { SubjectLabels } from '../analysis/types.js';
import { UserError } from '../util/errors.js';

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
export const ADDITIVE = new Set(['Sum', 'SampleCount']);
const ALB = 'AWS/ApplicationELB';

export const SYNTAX_HINT =
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

const albDimensionsIncomplete = (query: string): UserError =>
  new UserError(
    `The ALB shorthand needs both TargetGroup and LoadBalancer dimensions (ALB publishes target group metrics with both). Query: ${query}`,
    'Write e.g. alb:error-rate{TargetGroup="targetgroup/web/0123abcd", LoadBalancer="app/edge/4567ef01"}.',
  );

const albLabelsMissing = (query: string, labels: SubjectLabels | undefined): UserError =>
  new UserError(
    `'${query}' needs the target group and load balancer, but the rollout supplied ${labels ? `only ${Object.keys(labels).join(', ') || 'no labels'}` : 'no labels'}.`,
    'ALB shorthands work with targets behind an ALB (task sets with weighted target groups). Otherwise name the dimensions: alb:error-rate{TargetGroup="targetgroup/name/id", LoadBalancer="app/name/id"}.',
  );

function albDimensions(selector: string | undefined, labels: SubjectLabels | undefined, query: string): Dimension[] {
  if (selector !== undefined) {
    const dims = parseSelector(selector, query).map((d) => ({ Name: d.Name, Value: albDimensionValue(d.Value) }));
    const names = dims.map((d) => d.Name);
    if (!names.includes('TargetGroup') || !names.includes('LoadBalancer')) {
      throw albDimensionsIncomplete(query);
    }
    return dims;
  }
  const tg = labels?.targetGroup;
  const lb = labels?.loadBalancer;
  if (!tg || !lb) {
    throw albLabelsMissing(query, labels);
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

const notAStatistic = (stat: string, query: string): UserError =>
  new UserError(
    `'${stat}' is not a CloudWatch statistic. Query: ${query}`,
    'Use Sum, Average, Minimum, Maximum, SampleCount, a percentile such as p95 or p99.9, or a trimmed mean such as tm90.',
  );

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
    throw notAStatistic(stat, query);
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
