/**
 * Analysis: how long one analysis run takes against a real Prometheus (scraping test apps
 * under load) and against moto's CloudWatch, by number of metrics; and Mann-Whitney U at
 * the sizes a bake produces and far beyond (10k samples a side).
 */
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { createAnalysis } from '../../src/analysis/analysis.js';
import { mannWhitneyU } from '../../src/analysis/mann-whitney.js';
import { createPrometheusProvider } from '../../src/analysis/prometheus.js';
import { buildSpec } from '../../src/analysis/spec.js';
import { createCloudWatchProvider } from '../../src/aws/cloudwatch-metrics.js';
import { startMoto } from '../../test/support/global-setup.js';
import { startMetricsLab } from '../../test/support/prometheus.js';
import { median, printTable } from './lib.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const RUNS = Number(process.env.BENCH_RUNS ?? 15);

async function time(fn: () => Promise<unknown> | unknown, runs = RUNS): Promise<number> {
  const samples: number[] = [];
  await fn(); // warm up
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(samples);
}

function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

// --- Mann-Whitney U -------------------------------------------------------------------
const rand = lcg(1);
const mwRows: string[][] = [];
for (const [n, methods] of [
  [10, ['exact']],
  [30, ['exact', 'normal']],
  [1000, ['normal']],
  [10_000, ['normal']],
] as const) {
  const x = Array.from({ length: n }, () => Math.round(rand() * 200) / 1000 + 0.01);
  const y = Array.from({ length: n }, () => Math.round(rand() * 200) / 1000);
  for (const method of methods) {
    let p = 0;
    const ms = await time(() => {
      p = mannWhitneyU(x, y, 'greater', method).pValue;
    });
    mwRows.push([`${n} vs ${n}`, method, `${ms < 1 ? ms.toFixed(3) : ms.toFixed(1)} ms`, p.toPrecision(3)]);
  }
}
printTable(`Mann-Whitney U, one-sided, tied values (median of ${RUNS})`, ['samples', 'method', 'time', 'p'], mwRows);

// --- Prometheus -----------------------------------------------------------------------
const lab = await startMetricsLab({
  deployments: {
    canary: { behaviour: { errorRate: 0, latencyMs: 100 }, rps: 20 },
    baseline: { behaviour: { errorRate: 0.01, latencyMs: 100 }, rps: 20 },
  },
});
try {
  const since = Date.now();
  await new Promise((r) => setTimeout(r, 65_000)); // six 10 s steps of data
  const sel = 'namespace="{{namespace}}", deployment="{{deployment}}"';
  const kinds: Array<Record<string, unknown> & { judge: Record<string, unknown> }> = [
    {
      query: `(sum(rate(http_requests_total{${sel}, code=~"5.."}[{{range}}])) or vector(0)) / sum(rate(http_requests_total{${sel}}[{{range}}]))`,
      'count-query': `sum(increase(http_requests_total{${sel}}[{{range}}]))`,
      'min-count': 100,
      judge: { threshold: { max: '1%' } },
    },
    {
      query: `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{${sel}}[{{range}}])))`,
      judge: { relative: { tolerance: '10%' } },
    },
    {
      query: `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{${sel}}[{{range}}])))`,
      step: '10s',
      judge: { 'mann-whitney': { 'min-samples': 5 } },
    },
  ];
  const provider = createPrometheusProvider({ url: lab.prometheus.url });
  const subjects = { canary: lab.labels('canary'), baseline: lab.labels('baseline') };
  const rows: string[][] = [];
  for (const n of [3, 12, 48]) {
    const metrics = Array.from({ length: n }, (_, i) => ({
      name: `m${i}`,
      provider: 'prometheus',
      ...(kinds[i % kinds.length] as (typeof kinds)[number]),
    }));
    const analysis = createAnalysis(buildSpec({ metrics }, 'bench'), { providers: { prometheus: provider } });
    const window = { start: new Date(since), end: new Date() };
    let verdicts = '';
    const ms = await time(async () => {
      const run = await analysis.run(subjects, window);
      verdicts = ['pass', 'fail', 'inconclusive']
        .map((v) => `${run.checks.filter((c) => c.verdict === v).length} ${v}`)
        .join(', ');
    });
    // Thresholds query the canary; the others both sides; a count-query adds one a side.
    const queries = metrics.reduce((sum, m) => sum + (m.judge.threshold ? 1 : 2) * ('count-query' in m ? 2 : 1), 0);
    rows.push([String(n), String(queries), `${ms.toFixed(0)} ms`, verdicts]);
  }
  printTable(
    `One analysis run against a real Prometheus (1 s scrapes, 65 s window; median of ${RUNS}). Metrics cycle through threshold + count-query, relative, Mann-Whitney`,
    ['metrics', 'HTTP queries', 'run', 'checks'],
    rows,
  );
} finally {
  await lab.stop();
}

// --- CloudWatch (moto) ----------------------------------------------------------------
const moto = await startMoto();
try {
  const cw = new CloudWatchClient({
    region: 'us-east-1',
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 't', secretAccessKey: 't' },
    maxAttempts: 1,
  });
  const end = Math.floor(Date.now() / 60_000) * 60_000;
  const start = end - 30 * 60_000;
  const lb = 'app/edge/50dc6c495c0c9188';
  for (const tg of ['targetgroup/canary/1', 'targetgroup/stable/2']) {
    const dims = [
      { Name: 'TargetGroup', Value: tg },
      { Name: 'LoadBalancer', Value: lb },
    ];
    const data: MetricDatum[] = [];
    for (let m = 0; m < 30; m++) {
      const at = new Date(start + m * 60_000 + 30_000);
      data.push({ MetricName: 'RequestCount', Dimensions: dims, Timestamp: at, Value: 300 });
      data.push({ MetricName: 'HTTPCode_Target_5XX_Count', Dimensions: dims, Timestamp: at, Value: 2 });
      data.push({
        MetricName: 'TargetResponseTime',
        Dimensions: dims,
        Timestamp: at,
        Values: [0.1, 0.12, 0.2],
        Counts: [200, 90, 10],
      });
    }
    for (let i = 0; i < data.length; i += 20)
      await cw.send(new PutMetricDataCommand({ Namespace: 'AWS/ApplicationELB', MetricData: data.slice(i, i + 20) }));
  }
  const provider = createCloudWatchProvider({
    region: 'us-east-1',
    credentials: { accessKeyId: 't', secretAccessKey: 't' },
    env: { AWS_ENDPOINT_URL: moto.endpoint },
  });
  const spec = buildSpec(
    {
      provider: 'cloudwatch',
      'min-count': 100,
      metrics: [
        { name: 'error-rate', query: 'alb:error-rate', judge: { threshold: { max: '1%' } } },
        { name: 'latency', query: 'alb:average-latency', judge: { threshold: { max: '500ms' } } },
        { name: 'latency-vs-baseline', query: 'alb:average-latency', judge: { 'mann-whitney': {} } },
      ],
    },
    'bench',
  );
  const analysis = createAnalysis(spec, { providers: { cloudwatch: provider } });
  const subjects = {
    canary: { targetGroup: 'targetgroup/canary/1', loadBalancer: lb },
    baseline: { targetGroup: 'targetgroup/stable/2', loadBalancer: lb },
  };
  const ms = await time(() => analysis.run(subjects, { start: new Date(start), end: new Date(end) }));
  printTable(
    `One analysis run against moto's CloudWatch (30 min of ALB metrics, 3 metrics = 4 GetMetricData calls; median of ${RUNS})`,
    ['metrics', 'run'],
    [['3', `${ms.toFixed(0)} ms`]],
  );
} finally {
  await moto.stop();
}
