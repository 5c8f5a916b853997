/**
 * The Cloud Monitoring provider against the Google stand-in's projects.timeSeries.list
 * (requests checked against the REST reference), judged by the analysis; and the
 * Managed Prometheus route, whose query API the stand-in serves from a real Prometheus
 * after checking the access token.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createAnalysis } from '../../src/analysis/analysis.js';
import { defaultAnalysisSpec } from '../../src/analysis/default-spec.js';
import { parseAnalysisSpec } from '../../src/analysis/spec.js';
import type { Subjects } from '../../src/analysis/types.js';
import {
  createCloudMonitoringProvider,
  managedPrometheusProvider,
  parseMonitoringQuery,
} from '../../src/gcp/cloud-monitoring.js';
import { TEST_ENDPOINTS_VARIABLE } from '../../src/gcp/endpoints.js';
import { UserError } from '../../src/util/errors.js';
import { startGoogleApis, type GoogleApis } from '../support/google-apis.js';
import type { StoredSeries } from '../support/monitoring-series.js';
import { startMetricsLab, type MetricsLab } from '../support/prometheus.js';

const PROJECT = 'acme-prod';
const REQUESTS = 'prometheus.googleapis.com/http_requests_total/counter';
const LATENCY = 'custom.googleapis.com/web/p95_latency';
const TOKEN = 'ya29.monitoring-test-token';
let google: GoogleApis;
const saved = process.env[TEST_ENDPOINTS_VARIABLE];

// Ten minutes of data, a point every 10 s, ending at the last whole 10 s.
const END = Math.floor(Date.now() / 10_000) * 10_000;
const STEPS = 60;
const WINDOW = { start: new Date(END - 300_000), end: new Date(END) };
const SUBJECTS: Subjects = {
  canary: { namespace: 'shop', deployment: 'web-canary' },
  baseline: { namespace: 'shop', deployment: 'web' },
};

function counter(deployment: string, code: string, perStep: number): StoredSeries & { project: string } {
  return {
    project: PROJECT,
    metric: { type: REQUESTS, labels: { code, deployment } },
    resource: {
      type: 'prometheus_target',
      labels: {
        project_id: PROJECT,
        location: 'europe-west1',
        cluster: 'shop',
        namespace: 'shop',
        job: 'web',
        instance: `${deployment}-0`,
      },
    },
    metricKind: 'CUMULATIVE',
    valueType: 'INT64',
    points: Array.from({ length: STEPS + 1 }, (_, i) => ({ time: END - (STEPS - i) * 10_000, value: i * perStep })),
  };
}
const BOUNDS = [0.05, 0.1, 0.2, 0.3, 0.5, 1];
/** A latency histogram as Managed Prometheus stores it: CUMULATIVE distribution, running bucket counts. */
function histogram(deployment: string, perStep: number[]): StoredSeries & { project: string } {
  const mids = [0.025, 0.075, 0.15, 0.25, 0.4, 0.75, 1];
  return {
    project: PROJECT,
    metric: { type: 'prometheus.googleapis.com/http_request_duration_seconds/histogram', labels: { deployment } },
    resource: {
      type: 'prometheus_target',
      labels: {
        project_id: PROJECT,
        location: 'europe-west1',
        cluster: 'shop',
        namespace: 'shop',
        job: 'web',
        instance: `${deployment}-0`,
      },
    },
    metricKind: 'CUMULATIVE',
    valueType: 'DISTRIBUTION',
    points: Array.from({ length: STEPS + 1 }, (_, i) => ({
      time: END - (STEPS - i) * 10_000,
      value: 0,
      histogram: {
        bounds: BOUNDS,
        counts: perStep.map((c) => c * i),
        sum: perStep.reduce((a, c, b) => a + c * (mids[b] as number), 0) * i,
      },
    })),
  };
}
function gauge(deployment: string, pod: string, value: (i: number) => number): StoredSeries & { project: string } {
  return {
    project: PROJECT,
    metric: { type: LATENCY, labels: { deployment } },
    resource: { type: 'k8s_pod', labels: { project_id: PROJECT, namespace_name: 'shop', pod_name: pod } },
    metricKind: 'GAUGE',
    valueType: 'DOUBLE',
    points: Array.from({ length: STEPS + 1 }, (_, i) => ({ time: END - (STEPS - i) * 10_000, value: value(i) })),
  };
}

const ERRORS_QUERY =
  `metric.type="${REQUESTS}" AND resource.labels.namespace="{{namespace}}" AND metric.labels.deployment="{{deployment}}" AND metric.labels.code=monitoring.regex.full_match("5..") | ALIGN_RATE | REDUCE_SUM` +
  ` / metric.type="${REQUESTS}" AND resource.labels.namespace="{{namespace}}" AND metric.labels.deployment="{{deployment}}" | ALIGN_RATE | REDUCE_SUM`;
const LATENCY_QUERY = `metric.type="${LATENCY}" AND metric.labels.deployment="{{deployment}}" | ALIGN_MEAN | REDUCE_MAX`;

beforeAll(async () => {
  google = await startGoogleApis();
  process.env[TEST_ENDPOINTS_VARIABLE] = google.endpointsEnv;
});
afterAll(async () => {
  process.env[TEST_ENDPOINTS_VARIABLE] = saved;
  await google.close();
});
beforeEach(() => {
  google.reset();
  // The stand-in accepts tokens it issued; register this one as issued for a service account.
  google.minted.push({ serviceAccount: 'deployer@acme-prod.iam.gserviceaccount.com', kind: 'access', token: TOKEN });
  google.timeSeries.push(
    counter('web-canary', '200', 95),
    counter('web-canary', '500', 5),
    counter('web', '200', 199),
    counter('web', '503', 1),
    gauge('web-canary', 'web-canary-a', (i) => 0.3 + (i % 3) * 0.01),
    gauge('web-canary', 'web-canary-b', (i) => 0.28 + (i % 2) * 0.01),
    gauge('web', 'web-a', (i) => 0.1 + (i % 3) * 0.01),
    histogram('web-canary', [0, 10, 60, 25, 5, 0, 0]),
    histogram('web', [50, 45, 5, 0, 0, 0, 0]),
  );
});
afterEach(() => {
  expect(google.violations).toEqual([]);
});

const provider = () => createCloudMonitoringProvider({ project: PROJECT, token: async () => TOKEN });
const fill = (q: string, labels: Record<string, string>) =>
  q.replace(/\{\{(\w+)\}\}/g, (_, k: string) => labels[k] ?? '');

describe('cloud-monitoring provider', () => {
  it('a ratio of two rates over the window, with the requests behind it, in one request per part', async () => {
    const result = await provider().query({
      query: fill(ERRORS_QUERY, SUBJECTS.canary),
      window: WINDOW,
      stepSeconds: 60,
      need: 'value',
    });
    expect(result.value).toBeCloseTo(0.05, 10);
    expect(result.count).toBeCloseTo(3000, 6);
    expect(result.samples).toEqual([]);
    const calls = google.requests.filter((r) => r.path === `/v3/projects/${PROJECT}/timeSeries`);
    expect(calls).toHaveLength(2);
    expect(calls[0]?.query).toEqual({
      filter: `metric.type="${REQUESTS}" AND resource.labels.namespace="shop" AND metric.labels.deployment="web-canary" AND metric.labels.code=monitoring.regex.full_match("5..")`,
      'interval.startTime': WINDOW.start.toISOString(),
      'interval.endTime': WINDOW.end.toISOString(),
      'aggregation.alignmentPeriod': '300s',
      'aggregation.perSeriesAligner': 'ALIGN_RATE',
      'aggregation.crossSeriesReducer': 'REDUCE_SUM',
      view: 'FULL',
    });
  });

  it('samples one per step, oldest first, with the 60 s minimum period', async () => {
    const result = await provider().query({
      query: fill(LATENCY_QUERY, SUBJECTS.canary),
      window: WINDOW,
      stepSeconds: 10,
      need: 'samples',
    });
    expect(result.samples).toHaveLength(5);
    for (const s of result.samples) expect(s).toBeGreaterThan(0.3);
    expect(google.requests.at(-1)?.query['aggregation.alignmentPeriod']).toBe('60s');
  });

  it('is judged by the analysis: the SLO threshold, and Mann-Whitney against the baseline', async () => {
    const spec = parseAnalysisSpec(
      JSON.stringify({
        provider: 'cloud-monitoring',
        step: '60s',
        metrics: [
          { name: 'error-rate', query: ERRORS_QUERY, 'min-count': 100, judge: { threshold: { max: '1%' } } },
          {
            name: 'p95-latency',
            query: LATENCY_QUERY,
            unit: 'seconds',
            judge: { 'mann-whitney': { 'min-samples': 5 } },
          },
        ],
      }),
      { providers: ['cloud-monitoring'], labels: ['namespace', 'deployment'] },
    );
    const analysis = createAnalysis(spec, { providers: { 'cloud-monitoring': provider() } });
    const bad = await analysis.run(SUBJECTS, WINDOW);
    expect(bad.verdict).toBe('fail');
    const [errors, latency] = bad.checks;
    expect(errors).toMatchObject({ verdict: 'fail', count: { canary: 3000 } });
    expect(errors?.reason).toBe('error-rate 5% > 1% (3000 requests)');
    expect(latency).toMatchObject({ verdict: 'fail', judge: 'mann-whitney' });

    const good = await analysis.run(
      { canary: SUBJECTS.baseline as Subjects['canary'], baseline: SUBJECTS.baseline },
      WINDOW,
    );
    expect(good.checks[0]).toMatchObject({ verdict: 'pass', canary: 0.005 });
  });

  it('the platform SLO by default: error rate and p95 from the Managed Prometheus series in Cloud Monitoring', async () => {
    const analysis = createAnalysis(defaultAnalysisSpec('cloud-monitoring'), {
      providers: { 'cloud-monitoring': provider() },
    });
    const canary = await analysis.run(SUBJECTS, WINDOW);
    expect(canary.checks.map((c) => [c.name, c.verdict, c.canary, c.count?.canary])).toEqual([
      ['error-rate', 'fail', expect.closeTo(0.05, 10), expect.closeTo(3000, 6)],
      ['p95-latency', 'pass', expect.closeTo(0.3, 10), 3000],
    ]);
    const stable = await analysis.run({ canary: SUBJECTS.baseline as Subjects['canary'] }, WINDOW);
    expect(stable.checks.map((c) => [c.name, c.verdict, c.canary])).toEqual([
      ['error-rate', 'pass', expect.closeTo(0.005, 10)],
      ['p95-latency', 'pass', expect.closeTo(0.1, 10)],
    ]);
  });

  it('no data is no value (inconclusive, not a zero error rate) and zero requests', async () => {
    const result = await provider().query({
      query: fill(ERRORS_QUERY, { namespace: 'shop', deployment: 'nobody' }),
      window: WINDOW,
      stepSeconds: 60,
    });
    expect(result).toEqual({ value: undefined, samples: [], count: 0 });
  });

  it('several series without a reducer is a UserError, counted across pages', async () => {
    google.monitoringPageSize = 1;
    const err = await provider()
      .query({
        query: `metric.type="${LATENCY}" AND metric.labels.deployment="web-canary" | ALIGN_MEAN`,
        window: WINDOW,
        stepSeconds: 60,
        need: 'value',
      })
      .catch((e: unknown) => e as UserError);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(/returned 2 time series/);
    expect(google.requests.filter((r) => r.path.endsWith('/timeSeries')).map((r) => r.query.pageToken)).toEqual([
      undefined,
      '1',
    ]);
  });

  it('mistakes in the query and refusals are UserErrors that say what to do', async () => {
    expect(() => parseMonitoringQuery('metric.type="x" | ALIGN_AVERAGE')).toThrow(
      /'ALIGN_AVERAGE' is not a Cloud Monitoring aligner/,
    );
    expect(() => parseMonitoringQuery('metric.type="x"')).toThrow(/needs an aligner/);
    expect(() => parseMonitoringQuery('resource.type="k8s_pod" | ALIGN_MEAN')).toThrow(/must select a metric.type/);
    expect(() =>
      parseMonitoringQuery(
        'metric.type="x" | ALIGN_MEAN / metric.type="y" | ALIGN_MEAN / metric.type="z" | ALIGN_MEAN',
      ),
    ).toThrow(/at most two/);
    expect(google.requests).toEqual([]);

    const invalid = await provider()
      .query({
        query: `metric.type="${LATENCY}" | ALIGN_RATE | REDUCE_SUM`,
        window: WINDOW,
        stepSeconds: 60,
        need: 'value',
      })
      .catch((e: unknown) => e as UserError);
    expect(invalid).toBeInstanceOf(UserError);
    expect((invalid as UserError).message).toMatch(
      /Cloud Monitoring rejected the query \(INVALID_ARGUMENT\): The aligner ALIGN_RATE cannot be applied to metrics with kind GAUGE/,
    );

    google.deniedPermissions.add('monitoring.timeSeries.list');
    const denied = await provider()
      .query({ query: LATENCY_QUERY.replace('{{deployment}}', 'web'), window: WINDOW, stepSeconds: 60, need: 'value' })
      .catch((e: unknown) => e as UserError);
    expect((denied as UserError).hint).toMatch(/roles\/monitoring\.viewer/);
  });
});

describe('Managed Prometheus (PromQL through the prometheus provider)', () => {
  let lab: MetricsLab;
  beforeAll(async () => {
    lab = await startMetricsLab({ deployments: { web: { behaviour: { errorRate: 0, latencyMs: 20 }, rps: 10 } } });
  }, 60_000);
  afterAll(async () => {
    await lab?.stop();
  });

  it("queries the project's Prometheus API with a fresh access token per request", async () => {
    google.prometheusUpstream = lab.prometheus.url;
    let asked = 0;
    const prom = managedPrometheusProvider({
      project: PROJECT,
      token: async () => {
        asked++;
        return TOKEN;
      },
    });
    expect(prom.url).toBe(`${google.url}/v1/projects/${PROJECT}/location/global/prometheus`);
    const up = await prom.instant('sum(up{deployment="web"})', new Date());
    expect(up).toBe(1);
    expect(asked).toBe(1);
    const refused = managedPrometheusProvider({ project: PROJECT, token: async () => 'ya29.forged' });
    await expect(refused.instant('up', new Date())).rejects.toThrow(/refused the query \(HTTP 401/);
  }, 30_000);
});
