/**
 * The Prometheus provider and the analysis against a real Prometheus scraping test apps
 * under real load: a stable deployment, a slow one (latency regression still inside the
 * SLO), a broken one (20% errors) and a quiet one (too little traffic to judge).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAnalysis } from '../../src/analysis/analysis.js';
import { createPrometheusProvider, TransientPrometheusError } from '../../src/analysis/prometheus.js';
import { defaultAnalysisSpec } from '../../src/analysis/default-spec.js';
import { parseAnalysisSpec } from '../../src/analysis/spec.js';
import type { AnalysisRun, Subjects } from '../../src/analysis/types.js';
import { UserError } from '../../src/util/errors.js';
import { freePort } from '../support/global-setup.js';
import { startMetricsLab, type MetricsLab } from '../support/prometheus.js';

let lab: MetricsLab;
let since: Date;

const sleepUntil = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));

beforeAll(async () => {
  lab = await startMetricsLab({
    deployments: {
      stable: { behaviour: { errorRate: 0, latencyMs: 100 }, rps: 20 },
      slow: { behaviour: { errorRate: 0, latencyMs: 300 }, rps: 20 },
      broken: { behaviour: { errorRate: 0.2, latencyMs: 100 }, rps: 20 },
      quiet: { behaviour: { errorRate: 0, latencyMs: 100 }, rps: 0.25 },
    },
  });
  since = new Date();
}, 60_000);

afterAll(async () => {
  await lab?.stop();
});

const subjects = (canary: string, baseline?: string): Subjects => ({
  canary: lab.labels(canary),
  ...(baseline ? { baseline: lab.labels(baseline) } : {}),
});

describe('analysis against a real Prometheus', () => {
  it('fails a broken canary on the platform SLO within interval × failure-limit, with the numbers', async () => {
    const spec = { ...defaultAnalysisSpec('prometheus'), intervalMs: 10_000 };
    const analysis = createAnalysis(spec, {
      providers: { prometheus: createPrometheusProvider({ url: lab.prometheus.url }) },
    });
    const runs: AnalysisRun[] = [];
    const started = Date.now();
    const result = await analysis.bake({
      subjects: subjects('broken', 'stable'),
      since,
      durationMs: 300_000,
      onRun: (r) => runs.push(r),
    });
    const elapsed = Date.now() - started;

    expect(result.verdict).toBe('fail');
    expect(result.runs).toHaveLength(2);
    expect(runs).toEqual(result.runs);
    expect(elapsed).toBeLessThan(35_000); // two 10 s intervals and two runs, not the 5 minute bake
    for (const run of result.runs) {
      const [errors, latency] = run.checks;
      expect(errors).toMatchObject({
        name: 'error-rate',
        verdict: 'fail',
        judge: 'threshold',
        unit: 'ratio',
        threshold: 0.01,
      });
      // 20% of real requests fail; the scraped rate is close to it.
      expect(errors?.canary).toBeGreaterThan(0.1);
      expect(errors?.canary).toBeLessThan(0.3);
      expect(errors?.count?.canary).toBeGreaterThanOrEqual(100);
      expect(errors?.reason).toMatch(/^error-rate \d+(\.\d+)?% > 1% \(\d+ requests\)$/);
      // 100 ms responses are well inside the 500 ms SLO.
      expect(latency).toMatchObject({ name: 'p95-latency', verdict: 'pass' });
      expect(latency?.canary).toBeGreaterThan(0.09);
      expect(latency?.canary).toBeLessThan(0.25);
    }
    expect(result.reason).toMatch(/^2 consecutive runs failed: error-rate/);
  }, 60_000);

  it('judges a latency regression by Mann-Whitney against the baseline, though it is inside the SLO', async () => {
    await sleepUntil(since.getTime() + 75_000); // at least 7 samples of 10 s per side
    const spec = parseAnalysisSpec(`
provider: prometheus
step: 10s
metrics:
  - name: p95-latency
    query: histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="{{namespace}}", deployment="{{deployment}}"}[{{range}}])))
    judge: { threshold: { max: 500ms } }
  - name: p95-vs-baseline
    query: histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="{{namespace}}", deployment="{{deployment}}"}[{{range}}])))
    unit: seconds
    judge: { mann-whitney: { confidence: 95%, min-samples: 6 } }
`);
    const analysis = createAnalysis(spec, {
      providers: { prometheus: createPrometheusProvider({ url: lab.prometheus.url }) },
    });
    const window = { start: since, end: new Date() };

    const regression = await analysis.run(subjects('slow', 'stable'), window);
    const [slo, mw] = regression.checks;
    expect(slo).toMatchObject({ verdict: 'pass' });
    expect(slo?.canary).toBeLessThan(0.5);
    expect(mw).toMatchObject({ verdict: 'fail', judge: 'mann-whitney' });
    expect(mw?.samples?.canary).toBeGreaterThanOrEqual(6);
    expect(mw?.samples?.baseline).toBeGreaterThanOrEqual(6);
    expect(mw?.canary).toBeGreaterThan(0.25); // medians of per-step p95s: ~300 ms vs ~100 ms
    expect(mw?.baseline).toBeLessThan(0.2);
    expect(mw?.pValue).toBeLessThan(0.01);
    expect(mw?.reason).toContain('canary higher than baseline');
    expect(regression.verdict).toBe('fail');

    // The faster side as the canary: a one-sided test for an increase passes.
    const improvement = await analysis.run(subjects('stable', 'slow'), window);
    expect(improvement.checks[1]).toMatchObject({ verdict: 'pass' });
    expect(improvement.checks[1]?.pValue).toBeGreaterThan(0.9);
    expect(improvement.verdict).toBe('pass');
  }, 120_000);

  it('calls too little traffic inconclusive, not pass', async () => {
    const analysis = createAnalysis(defaultAnalysisSpec('prometheus'), {
      providers: { prometheus: createPrometheusProvider({ url: lab.prometheus.url }) },
    });
    const run = await analysis.run(subjects('quiet'), { start: since, end: new Date() });
    expect(run.verdict).toBe('inconclusive');
    for (const check of run.checks) {
      expect(check.verdict).toBe('inconclusive');
      expect(check.count?.canary).toBeLessThan(100);
      expect(check.reason).toMatch(/too little traffic to judge \(canary \d+ requests?; min-count 100\)/);
    }
    // The same queries on a busy deployment over the same window are conclusive.
    const busy = await analysis.run(subjects('stable'), { start: since, end: new Date() });
    expect(busy.verdict).toBe('pass');
  }, 30_000);
});

describe('Prometheus provider', () => {
  it('answers instant and range queries with real scraped numbers', async () => {
    const p = createPrometheusProvider({ url: `${lab.prometheus.url}/` });
    const end = new Date();
    const served = await p.instant(`sum(http_requests_total{deployment="stable"})`, end);
    expect(served).toBeGreaterThan(100);
    expect(served).toBeLessThanOrEqual(lab.apps.stable?.served.total ?? 0);
    const samples = await p.range(
      `sum(http_requests_total{deployment="stable"})`,
      new Date(end.getTime() - 30_000),
      end,
      10,
    );
    expect(samples).toHaveLength(4);
    expect([...samples].sort((a, b) => a - b)).toEqual(samples); // a counter only grows

    const both = await p.query({
      query: `sum(rate(http_requests_total{deployment="stable"}[10s]))`,
      window: { start: new Date(end.getTime() - 60_000), end },
      stepSeconds: 10,
    });
    expect(both.value).toBeGreaterThan(10); // ~20 requests a second
    expect(both.samples).toHaveLength(6); // one per step, starting one step into the window
  });

  it('reports an empty result as no data, and explains bad PromQL, several series and a wrong URL', async () => {
    const p = createPrometheusProvider({ url: lab.prometheus.url });
    expect(
      await p.query({ query: 'no_such_metric', window: { start: since, end: new Date() }, stepSeconds: 10 }),
    ).toEqual({ value: undefined, samples: [] });

    const bad = await p.instant('sum(rate(http_requests_total[5m]', new Date()).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(UserError);
    expect((bad as UserError).message).toContain('Prometheus rejected the query (bad_data)');
    expect((bad as UserError).message).toContain('Query: sum(rate(http_requests_total[5m]');

    const many = await p.instant('http_requests_total', new Date()).catch((e: unknown) => e);
    expect((many as UserError).message).toMatch(/returned \d+ series .*the analysis needs one/);
    expect((many as UserError).hint).toContain('sum(...)');

    const wrongPath = await createPrometheusProvider({ url: `${lab.prometheus.url}/prom` })
      .instant('up', new Date())
      .catch((e: unknown) => e);
    expect((wrongPath as UserError).message).toContain(
      `There is no Prometheus HTTP API at ${lab.prometheus.url}/prom (HTTP 404`,
    );
  });

  it('retries an unreachable server, then calls the check an error of the provider (not low traffic, not a failure of the canary)', async () => {
    const port = await freePort();
    const p = createPrometheusProvider({ url: `http://127.0.0.1:${port}`, attempts: 2 });
    const err = await p.instant('up', new Date()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientPrometheusError);
    expect((err as Error).message).toBe(`Prometheus at http://127.0.0.1:${port} is unreachable (ECONNREFUSED)`);

    const analysis = createAnalysis(defaultAnalysisSpec('prometheus'), { providers: { prometheus: p } });
    const run = await analysis.run(subjects('stable'), { start: since, end: new Date() });
    expect(run.verdict).toBe('error');
    expect(run.checks[0]?.verdict).toBe('error');
    expect(run.checks[0]?.reason).toContain('Prometheus at');
  });

  it('sends a bearer token and extra headers, as Managed Prometheus and Mimir need', async () => {
    // An authenticating front like Managed Prometheus's: it checks the token and the tenant header.
    const seen: Array<{ auth?: string; tenant?: string }> = [];
    const target = new URL(lab.prometheus.url);
    const front: Server = createServer((req, res) => {
      seen.push({ auth: req.headers.authorization, tenant: req.headers['x-scope-orgid'] as string | undefined });
      if (req.headers.authorization !== 'Bearer token-2' || req.headers['x-scope-orgid'] !== 'team-a') {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ status: 'error', errorType: 'unauthorized', error: 'missing or invalid credentials' }),
        );
        return;
      }
      const upstream = request(
        {
          host: target.hostname,
          port: target.port,
          path: (req.url ?? '/').replace(/^\/v1\/projects\/p\/location\/global\/prometheus/, ''),
          headers: { accept: 'application/json' },
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.end();
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(front.address() as AddressInfo).port}/v1/projects/p/location/global/prometheus`;
    try {
      let minted = 0;
      const p = createPrometheusProvider({
        url: base,
        token: async () => `token-${++minted}`,
        headers: { 'X-Scope-OrgID': 'team-a' },
      });
      // The first token is refused, the provider explains; the next call mints a fresh one.
      const refused = await p.instant('up', new Date()).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(UserError);
      expect((refused as UserError).message).toBe(
        `Prometheus at ${base} refused the query (HTTP 401: missing or invalid credentials).`,
      );
      expect((refused as UserError).hint).toContain('roles/monitoring.viewer');
      const up = await p.instant('sum(up{job="app"})', new Date());
      expect(up).toBe(4);
      expect(seen).toEqual([
        { auth: 'Bearer token-1', tenant: 'team-a' },
        { auth: 'Bearer token-2', tenant: 'team-a' },
      ]);
    } finally {
      await new Promise<void>((r) => front.close(() => r()));
    }
  });
});
