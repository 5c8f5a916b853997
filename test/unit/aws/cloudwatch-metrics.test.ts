import { describe, expect, it } from '@jest/globals';
import { albDimensionValue, parseCloudWatchQuery, periodFor } from '../../../src/aws/cloudwatch-query.js';
import { UserError } from '../../../src/util/errors.js';

const TG_ARN = 'arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/web-canary/73e2d6bc24d8a067';
const LB_ARN = 'arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/app/edge/50dc6c495c0c9188';
const LABELS = { targetGroup: TG_ARN, loadBalancer: LB_ARN };
const DIMS = [
  { Name: 'TargetGroup', Value: 'targetgroup/web-canary/73e2d6bc24d8a067' },
  { Name: 'LoadBalancer', Value: 'app/edge/50dc6c495c0c9188' },
];
const ref = (metric: string, stat: string) => ({ namespace: 'AWS/ApplicationELB', metric, stat, dimensions: DIMS });

function userError(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('expected a UserError');
}

describe('CloudWatch analysis queries', () => {
  it('turns ALB ARNs into the dimension values CloudWatch uses', () => {
    expect(albDimensionValue(TG_ARN)).toBe('targetgroup/web-canary/73e2d6bc24d8a067');
    expect(albDimensionValue(LB_ARN)).toBe('app/edge/50dc6c495c0c9188');
    expect(albDimensionValue('app/edge/50dc6c495c0c9188')).toBe('app/edge/50dc6c495c0c9188');
  });

  it('expands the ALB shorthands from the rollout labels', () => {
    expect(parseCloudWatchQuery('alb:error-rate', LABELS)).toEqual({
      numerator: ref('HTTPCode_Target_5XX_Count', 'Sum'),
      denominator: ref('RequestCount', 'Sum'),
      count: ref('RequestCount', 'Sum'),
      standardResolution: true,
    });
    expect(parseCloudWatchQuery('alb:p95-latency', LABELS)).toEqual({
      numerator: ref('TargetResponseTime', 'p95'),
      count: ref('RequestCount', 'Sum'),
      standardResolution: true,
    });
    expect(parseCloudWatchQuery('alb:p99.9-latency', LABELS).numerator.stat).toBe('p99.9');
    expect(parseCloudWatchQuery('alb:average-latency', LABELS).numerator).toEqual(ref('TargetResponseTime', 'Average'));
    expect(parseCloudWatchQuery('alb:4xx-rate', LABELS).numerator.metric).toBe('HTTPCode_Target_4XX_Count');
    expect(parseCloudWatchQuery('alb:connection-error-rate', LABELS).numerator.metric).toBe(
      'TargetConnectionErrorCount',
    );
    expect(parseCloudWatchQuery('alb:request-count', LABELS).numerator).toEqual(ref('RequestCount', 'Sum'));
  });

  it('takes explicit dimensions on a shorthand, ARNs included', () => {
    const parsed = parseCloudWatchQuery(
      `alb:error-rate{TargetGroup="${TG_ARN}", LoadBalancer="app/edge/50dc6c495c0c9188"}`,
    );
    expect(parsed.numerator.dimensions).toEqual(DIMS);
    expect(userError(() => parseCloudWatchQuery('alb:error-rate{TargetGroup="targetgroup/x/1"}')).message).toContain(
      'needs both TargetGroup and LoadBalancer',
    );
  });

  it('says what is missing when the rollout has no target group', () => {
    const err = userError(() => parseCloudWatchQuery('alb:error-rate', { namespace: 'shop', deployment: 'web' }));
    expect(err.message).toBe(
      "'alb:error-rate' needs the target group and load balancer, but the rollout supplied only namespace, deployment.",
    );
    expect(err.hint).toContain('alb:error-rate{TargetGroup="targetgroup/name/id"');
    expect(userError(() => parseCloudWatchQuery('alb:latency', LABELS)).message).toContain(
      "'alb:latency' is not an ALB shorthand",
    );
  });

  it('reads the general form and ratios of two statistics', () => {
    expect(
      parseCloudWatchQuery(
        'AWS/ApplicationELB TargetResponseTime p99 {TargetGroup="targetgroup/web-canary/73e2d6bc24d8a067", LoadBalancer="app/edge/50dc6c495c0c9188"}',
      ),
    ).toEqual({
      numerator: ref('TargetResponseTime', 'p99'),
      standardResolution: true,
    });
    const ratio = parseCloudWatchQuery(
      'Shop Errors Sum {Service="web", Track="canary"} / Shop Requests Sum {Service="web", Track="canary"}',
    );
    expect(ratio.numerator).toEqual({
      namespace: 'Shop',
      metric: 'Errors',
      stat: 'Sum',
      dimensions: [
        { Name: 'Service', Value: 'web' },
        { Name: 'Track', Value: 'canary' },
      ],
    });
    expect(ratio.denominator?.metric).toBe('Requests');
    expect(ratio.count).toEqual(ratio.denominator);
    expect(ratio.standardResolution).toBe(false);
    expect(parseCloudWatchQuery('Shop Latency tm90').numerator).toEqual({
      namespace: 'Shop',
      metric: 'Latency',
      stat: 'tm90',
      dimensions: [],
    });
    expect(parseCloudWatchQuery('Shop Latency Average {Path="a / b, c=\\"d\\""}').numerator.dimensions).toEqual([
      { Name: 'Path', Value: 'a / b, c="d"' },
    ]);
  });

  it.each([
    ['AWS/ApplicationELB TargetResponseTime', 'is not NAMESPACE METRIC STAT'],
    ['AWS/ApplicationELB TargetResponseTime P95', "'P95' is not a CloudWatch statistic"],
    ['Shop Errors Sum {Service=web}', 'has a dimension that is not Name="value"'],
    ['Shop Errors Sum {Service="web"', 'has an unclosed {'],
    ['A B Sum / C D Sum / E F Sum', 'divides at most two statistics'],
  ])('explains a malformed query: %s', (query, message) => {
    const err = userError(() => parseCloudWatchQuery(query));
    expect(err.message).toContain(message);
    expect(err.hint).toBeTruthy();
  });

  it('chooses periods CloudWatch accepts', () => {
    expect(periodFor(10, true)).toBe(60);
    expect(periodFor(90, true)).toBe(120);
    expect(periodFor(10, false)).toBe(10);
    expect(periodFor(20, false)).toBe(30);
    expect(periodFor(60, false)).toBe(60);
  });
});
