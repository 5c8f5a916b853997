/**
 * The CloudWatch provider against moto_server: ALB target-group metrics written with
 * PutMetricData, read back through GetMetricData, judged by the analysis.
 *
 * What moto 5.2.1 does and does not do (checked against its source): MetricStat queries
 * with Sum / Average / Minimum / Maximum / SampleCount work, buckets start at StartTime;
 * metric-math expressions return nothing; percentile statistics (p95) make it answer an
 * HTML 500; dimensions are compared in the order written (its Dimension sort is broken).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { createAnalysis } from '../../src/analysis/analysis.js';
import { parseAnalysisSpec } from '../../src/analysis/spec.js';
import type { MetricProvider, Subjects } from '../../src/analysis/types.js';
import { awsClient } from '../../src/aws/client.js';
import { createCloudWatchProvider } from '../../src/aws/cloudwatch-metrics.js';
import { UserError } from '../../src/util/errors.js';
import { startAwsProxy, type AwsProxy } from '../support/aws-proxy.js';
import { motoClientConfig, useMoto } from '../support/moto.js';

const endpoint = useMoto();
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const ACCOUNT = '123456789012';
const LB = `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:loadbalancer/app/edge/50dc6c495c0c9188`;
const tg = (name: string) => `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:targetgroup/${name}/0123456789abcdef`;
const SUBJECTS: Subjects = {
  canary: { targetGroup: tg('web-canary'), loadBalancer: LB },
  baseline: { targetGroup: tg('web-stable'), loadBalancer: LB },
};

const MINUTES = 10;
// Ten whole minutes ending at the last whole minute before now.
const END = Math.floor(Date.now() / 60_000) * 60_000;
const START = END - MINUTES * 60_000;
const WINDOW = { start: new Date(START), end: new Date(END) };

interface Traffic {
  requests: number[]; // per minute
  errors: number[]; // 5xx per minute
  latency: (minute: number, i: number) => number; // seconds of request i in a minute
}

const cw = new CloudWatchClient(motoClientConfig(endpoint));

/** Writes one target group's ALB metrics, a datapoint per minute in the middle of the minute. */
async function putTraffic(targetGroupArn: string, traffic: Traffic): Promise<void> {
  const dims = [
    { Name: 'TargetGroup', Value: targetGroupArn.split(':').pop() as string },
    { Name: 'LoadBalancer', Value: LB.split(':loadbalancer/').pop() as string },
  ];
  const data: MetricDatum[] = [];
  for (let m = 0; m < MINUTES; m++) {
    const at = new Date(START + m * 60_000 + 30_000);
    const n = traffic.requests[m] ?? 0;
    if (n === 0) continue; // ALB publishes nothing for a minute without requests
    data.push({ MetricName: 'RequestCount', Dimensions: dims, Timestamp: at, Value: n, Unit: 'Count' });
    const e = traffic.errors[m] ?? 0;
    if (e > 0)
      data.push({ MetricName: 'HTTPCode_Target_5XX_Count', Dimensions: dims, Timestamp: at, Value: e, Unit: 'Count' });
    // One value per request, folded into Values / Counts (at most 150 distinct values a datum).
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i++) counts.set(traffic.latency(m, i), (counts.get(traffic.latency(m, i)) ?? 0) + 1);
    data.push({
      MetricName: 'TargetResponseTime',
      Dimensions: dims,
      Timestamp: at,
      Values: [...counts.keys()],
      Counts: [...counts.values()],
      Unit: 'Seconds',
    });
  }
  for (let i = 0; i < data.length; i += 20) {
    await cw.send(new PutMetricDataCommand({ Namespace: 'AWS/ApplicationELB', MetricData: data.slice(i, i + 20) }));
  }
}

const CANARY: Traffic = {
  requests: [200, 210, 190, 205, 195, 200, 220, 180, 200, 200],
  errors: [10, 12, 9, 11, 8, 10, 12, 9, 10, 9],
  latency: (m, i) => 0.3 + ((i * 7 + m) % 11) / 100, // 300–400 ms
};
const BASELINE: Traffic = {
  requests: [400, 410, 390, 405, 395, 400, 420, 380, 400, 400],
  errors: [2, 0, 0, 1, 0, 3, 0, 0, 0, 0], // minutes without 5xx have no datapoint
  latency: (m, i) => 0.1 + ((i * 5 + m) % 7) / 100, // 100–160 ms
};

function provider(options: { endpoint?: string; client?: CloudWatchClient } = {}): MetricProvider {
  return createCloudWatchProvider({
    region: 'us-east-1',
    credentials: CREDENTIALS,
    maxAttempts: 1,
    env: { AWS_ENDPOINT_URL: options.endpoint ?? endpoint },
    client: options.client,
  });
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('CloudWatch metric provider (moto)', () => {
  beforeEach(async () => {
    await putTraffic(tg('web-canary'), CANARY);
    await putTraffic(tg('web-stable'), BASELINE);
  });

  it('computes the ALB error rate from two MetricStat queries, per minute and over the window', async () => {
    const p = provider();
    const canary = await p.query({ query: 'alb:error-rate', labels: SUBJECTS.canary, window: WINDOW, stepSeconds: 60 });
    expect(canary.value).toBeCloseTo(sum(CANARY.errors) / sum(CANARY.requests), 12);
    expect(canary.count).toBe(sum(CANARY.requests));
    expect(canary.samples).toHaveLength(MINUTES);
    canary.samples.forEach((s, m) =>
      expect(s).toBeCloseTo((CANARY.errors[m] as number) / (CANARY.requests[m] as number), 12),
    );

    // Minutes without a 5xx datapoint count as zero errors, not as missing data.
    const baseline = await p.query({
      query: 'alb:error-rate',
      labels: SUBJECTS.baseline,
      window: WINDOW,
      stepSeconds: 60,
    });
    expect(baseline.value).toBeCloseTo(6 / sum(BASELINE.requests), 12);
    expect(baseline.samples).toHaveLength(MINUTES);
    expect(baseline.samples.filter((s) => s === 0)).toHaveLength(7);

    // The general form of the same ratio gives the same numbers.
    const dims = `{TargetGroup="targetgroup/web-canary/0123456789abcdef", LoadBalancer="app/edge/50dc6c495c0c9188"}`;
    const general = await p.query({
      query: `AWS/ApplicationELB HTTPCode_Target_5XX_Count Sum ${dims} / AWS/ApplicationELB RequestCount Sum ${dims}`,
      window: WINDOW,
      stepSeconds: 60,
    });
    expect(general).toEqual(canary);
  });

  it('gives the window average from one window-long period, and per-minute samples', async () => {
    const p = provider();
    const result = await p.query({
      query: 'alb:average-latency',
      labels: SUBJECTS.canary,
      window: WINDOW,
      stepSeconds: 60,
    });
    const all = CANARY.requests.flatMap((n, m) => Array.from({ length: n }, (_, i) => CANARY.latency(m, i)));
    expect(result.value).toBeCloseTo(sum(all) / all.length, 10);
    expect(result.samples).toHaveLength(MINUTES);
    expect(result.count).toBe(sum(CANARY.requests));
    // Two-minute steps: five samples, each the mean of two minutes.
    expect(
      (
        await p.query({
          query: 'alb:average-latency',
          labels: SUBJECTS.canary,
          window: WINDOW,
          stepSeconds: 120,
          need: 'samples',
        })
      ).samples,
    ).toHaveLength(5);
  });

  it('fails the canary on the SLO error rate and passes the baseline, with the numbers', async () => {
    const spec = parseAnalysisSpec(`
provider: cloudwatch
min-count: 100
metrics:
  - { name: error-rate, query: alb:error-rate, judge: { threshold: { max: 1% } } }
  - { name: average-latency, query: alb:average-latency, judge: { threshold: { max: 500ms } } }
`);
    const analysis = createAnalysis(spec, { providers: { cloudwatch: provider() } });
    const canary = await analysis.run(SUBJECTS, WINDOW);
    expect(canary.verdict).toBe('fail');
    expect(canary.checks[0]).toMatchObject({ name: 'error-rate', verdict: 'fail', count: { canary: 2000 } });
    expect(canary.checks[0]?.reason).toBe('error-rate 5% > 1% (2000 requests)');
    expect(canary.checks[1]).toMatchObject({ name: 'average-latency', verdict: 'pass' });
    const baseline = await analysis.run({ canary: SUBJECTS.baseline as Subjects['canary'] }, WINDOW);
    expect(baseline.verdict).toBe('pass');
    expect(baseline.checks[0]?.reason).toBe('error-rate 0.15% ≤ 1% (4000 requests)');
  });

  it('judges a latency regression by Mann-Whitney on per-minute averages', async () => {
    const spec = parseAnalysisSpec(`
metrics:
  - name: latency-vs-baseline
    provider: cloudwatch
    query: alb:average-latency
    unit: seconds
    judge: { mann-whitney: { confidence: 99%, min-samples: 10 } }
`);
    const run = await createAnalysis(spec, { providers: { cloudwatch: provider() } }).run(SUBJECTS, WINDOW);
    const check = run.checks[0];
    expect(check).toMatchObject({ verdict: 'fail', samples: { canary: 10, baseline: 10 } });
    // Every canary minute is slower than every baseline minute: exact p = 1 / C(20, 10).
    expect(check?.pValue).toBeCloseTo(1 / 184_756, 14);
    expect(check?.canary).toBeGreaterThan(0.3);
    expect(check?.baseline).toBeLessThan(0.17);
  });

  it('calls too little traffic inconclusive, not pass', async () => {
    await putTraffic(tg('web-quiet'), { requests: [0, 0, 3, 0, 2, 0, 0, 4, 0, 1], errors: [], latency: () => 0.05 });
    const spec = parseAnalysisSpec(`
provider: cloudwatch
min-count: 100
metrics:
  - { name: error-rate, query: alb:error-rate, judge: { threshold: { max: 1% } } }
  - { name: average-latency, query: alb:average-latency, judge: { threshold: { max: 500ms } } }
`);
    const analysis = createAnalysis(spec, { providers: { cloudwatch: provider() } });
    const quiet = await analysis.run({ canary: { targetGroup: tg('web-quiet'), loadBalancer: LB } }, WINDOW);
    expect(quiet.verdict).toBe('inconclusive');
    expect(quiet.checks.map((c) => c.reason)).toEqual([
      'error-rate: too little traffic to judge (canary 10 requests; min-count 100)',
      'average-latency: too little traffic to judge (canary 10 requests; min-count 100)',
    ]);
    // A target group with no datapoints at all: no data, zero requests.
    const silent = await analysis.run({ canary: { targetGroup: tg('web-new'), loadBalancer: LB } }, WINDOW);
    expect(silent.checks.map((c) => [c.verdict, c.count?.canary])).toEqual([
      ['inconclusive', 0],
      ['inconclusive', 0],
    ]);
  });

  it('reads high-resolution custom metrics at 10-second periods', async () => {
    const at = END - 60_000;
    const values = [0.2, 0.25, 0.22, 0.9, 0.21, 0.23];
    await cw.send(
      new PutMetricDataCommand({
        Namespace: 'Shop',
        MetricData: values.map((v, i) => ({
          MetricName: 'Latency',
          Dimensions: [{ Name: 'Service', Value: 'web' }],
          Timestamp: new Date(at + i * 10_000 + 5_000),
          Value: v,
          StorageResolution: 1,
        })),
      }),
    );
    const result = await provider().query({
      query: 'Shop Latency Maximum {Service="web"}',
      window: { start: new Date(at), end: new Date(END) },
      stepSeconds: 10,
    });
    expect(result.samples).toEqual(values);
    expect(result.value).toBe(0.9);
    expect(result.count).toBeUndefined();
  });

  it('asks for percentiles as CloudWatch expects; moto cannot compute them, so the check is an error (not too little data)', async () => {
    const client = awsClient(CloudWatchClient, 'CloudWatch', {
      region: 'us-east-1',
      credentials: CREDENTIALS,
      maxAttempts: 1,
      env: { AWS_ENDPOINT_URL: endpoint },
    });
    const sent: unknown[] = [];
    client.middlewareStack.add(
      (next) => async (args) => {
        sent.push(args.input);
        return next(args);
      },
      { step: 'initialize', name: 'recordInput' },
    );
    const analysis = createAnalysis(parseAnalysisSpec('', { defaultProvider: 'cloudwatch' }), {
      providers: { cloudwatch: provider({ client }) },
    });
    const run = await analysis.run(SUBJECTS, WINDOW);
    const p95 = run.checks.find((c) => c.name === 'p95-latency');
    expect(p95?.verdict).toBe('error');
    expect(p95?.error?.source).toBe('cloudwatch');
    expect(p95?.reason).toContain(
      'cloudwatch query failed: the CloudWatch endpoint answered something that is not a CloudWatch response',
    );
    const queries = (
      sent as Array<{
        MetricDataQueries: Array<{ MetricStat: { Metric: { MetricName: string }; Period: number; Stat: string } }>;
      }>
    ).flatMap((i) => i.MetricDataQueries);
    const percentile = queries.filter((q) => q.MetricStat.Stat === 'p95');
    expect(percentile).toHaveLength(1); // one window-long period: the window's own p95
    expect(percentile[0]?.MetricStat).toMatchObject({ Metric: { MetricName: 'TargetResponseTime' }, Period: 600 });
    // The error rate in the same run still works, from Sum statistics.
    expect(run.checks.find((c) => c.name === 'error-rate')?.verdict).toBe('fail');
  });
});

describe('CloudWatch metric provider errors', () => {
  let proxy: AwsProxy;
  beforeAll(async () => {
    proxy = await startAwsProxy(endpoint);
  });
  afterAll(async () => {
    await proxy.close();
  });
  beforeEach(() => proxy.reset());

  it('explains a refusal with the IAM action to allow', async () => {
    proxy.inject({
      operation: 'GetMetricData',
      times: 1,
      status: 400,
      code: 'AccessDeniedException',
      message: 'User is not authorized to perform: cloudwatch:GetMetricData',
    });
    const err = await provider({ endpoint: proxy.url })
      .query({ query: 'alb:error-rate', labels: SUBJECTS.canary, window: WINDOW, stepSeconds: 60 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toContain('CloudWatch refused GetMetricData (AccessDeniedException)');
    expect((err as UserError).hint).toContain('cloudwatch:GetMetricData');
  });

  it('retries throttling (standard retry mode) and then answers', async () => {
    await putTraffic(tg('web-canary'), CANARY);
    proxy.inject({
      operation: 'GetMetricData',
      times: 1,
      status: 400,
      code: 'ThrottlingException',
      message: 'Rate exceeded',
    });
    const p = createCloudWatchProvider({
      region: 'us-east-1',
      credentials: CREDENTIALS,
      maxAttempts: 3,
      env: { AWS_ENDPOINT_URL: proxy.url },
    });
    const result = await p.query({ query: 'alb:error-rate', labels: SUBJECTS.canary, window: WINDOW, stepSeconds: 60 });
    expect(result.value).toBeCloseTo(0.05, 10);
    expect(proxy.calls.filter((c) => c.operation === 'GetMetricData').map((c) => c.injected)).toEqual([true, false]);
  });
});
