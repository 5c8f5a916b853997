/**
 * gke-deploy's canary engine, the bundle run as the runner runs it, against the Kubernetes
 * stand-in, with the analysis asking a real Prometheus that scrapes loopback test apps
 * labelled as the stable (`web`) and canary (`web-canary`) Deployments, under real load
 * whose error rate the test sets.
 */
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { useGkeLab } from '../support/gke-lab.js';
import {
  annotationsOf,
  IMAGES,
  imageOf,
  NS,
  objectNames,
  readyPods,
  routeWeights,
  routeWrites,
  seedWeb,
} from '../support/gke-workload.js';
import { type Obj } from '../support/kube-server.js';
import { startLoad } from '../support/metrics-app.js';
import { type MetricsLab } from '../support/prometheus.js';
import { Job } from '../support/runner.js';

const healthy = { errorRate: 0, latencyMs: 20 };
const gke = useGkeLab({
  metrics: { web: { behaviour: healthy, rps: 20 }, 'web-canary': { behaviour: healthy, rps: 20 } },
});

beforeEach(() => {
  (gke.metrics.apps['web-canary'] as { behaviour: unknown }).behaviour = healthy;
});

/** The platform SLO (error rate ≤ 1%, p95 ≤ 500 ms, at least 100 requests), judged every 10 s. */
const SPEC = `
interval: 10s
failure-limit: 1
provider: prometheus
min-count: 100
metrics:
  - name: error-rate
    query: (sum(rate(http_requests_total{namespace="{{namespace}}", deployment="{{deployment}}", code=~"5.."}[{{range}}])) or vector(0)) / sum(rate(http_requests_total{namespace="{{namespace}}", deployment="{{deployment}}"}[{{range}}]))
    count-query: sum(increase(http_requests_total{namespace="{{namespace}}", deployment="{{deployment}}"}[{{range}}]))
    judge: { threshold: { max: 1% } }
  - name: p95-latency
    query: histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="{{namespace}}", deployment="{{deployment}}"}[{{range}}])))
    count-query: sum(increase(http_requests_total{namespace="{{namespace}}", deployment="{{deployment}}"}[{{range}}]))
    judge: { threshold: { max: 500ms } }
`;

const inputs = (extra: Record<string, string> = {}) => ({
  kubeconfig: gke.kubeconfig,
  namespace: NS,
  deployment: 'web',
  image: IMAGES.v2,
  strategy: 'canary',
  'http-route': 'web',
  steps: '10,50,100',
  'step-duration': '10s',
  analysis: SPEC,
  'prometheus-url': gke.metrics.prometheus.url,
  ...extra,
});

/** Nothing of the canary is left, and the stable Service selects by its own selector again. */
function expectOnlyStable(): void {
  expect(objectNames(gke.kube)).toEqual({
    deployments: ['web'],
    services: gke.kube.get('services', NS, 'status') ? ['status', 'web'] : ['web'],
  });
  const svc = gke.kube.get('services', NS, 'web') as Obj;
  expect(svc.spec.selector).toEqual({ app: 'web' });
  expect(svc.metadata.annotations ?? {}).not.toHaveProperty('platform-actions/pinned-selector');
  const annotations = annotationsOf(gke.kube);
  for (const key of ['platform-actions/rollout', 'platform-actions/traffic', 'platform-actions/blue-green'])
    expect(annotations).not.toHaveProperty(key);
}

describe('gke-deploy: canary behind an HTTPRoute', () => {
  it('shifts 10 → 50 → 100 with each weight accepted by the Gateway before its bake, then promotes: stable on the new image, canary removed, route back on stable', async () => {
    await seedWeb(gke.kube, { route: true });
    const step = await new Job().run('gke-deploy', { inputs: inputs() });

    expect(step.failure).toBeUndefined();
    expect(step.outputs).toMatchObject({
      status: 'succeeded',
      engine: 'gke-canary',
      'previous-revision': '1',
      revision: '2',
    });
    // One route write per step, only our refs; then the stable ref takes its old weight back and the canary's goes.
    expect(routeWrites(gke.kube)).toEqual([
      { web: 90, 'web-canary': 10 },
      { web: 50, 'web-canary': 50 },
      { web: 0, 'web-canary': 100 },
      { web: 1 },
    ]);
    const route = gke.kube.get('httproutes', NS, 'web') as Obj;
    expect(route.spec.rules[1]).toEqual({
      matches: [{ path: { type: 'PathPrefix', value: '/status' } }],
      backendRefs: [{ name: 'status', port: 80 }],
    });
    // The canary grew with its share of the traffic: 1 pod at 10%, 2 at 50%, 3 at 100%.
    const scaled = gke.kube
      .requestsOf('PUT', 'deployments')
      .filter((r) => r.path.endsWith('/web-canary'))
      .map((r) => (r.body as Obj).spec.replicas);
    expect(scaled).toEqual([2, 3]);

    const report = JSON.parse(readFileSync(step.outputs['analysis-report'] as string, 'utf8'));
    expect(report.steps.map((s: { confirmed: { canary: number } }) => s.confirmed.canary)).toEqual([10, 50, 100]);
    expect(report.steps.slice(0, 2).map((s: { analysis: { verdict: string } }) => s.analysis.verdict)).toEqual([
      'pass',
      'pass',
    ]);
    // Each bake began after the Gateway had accepted the weight.
    expect(step.log).toMatch(
      /Step 1\/3: 10% on the new version, 90% on stable \(confirmed: HTTPRoute web: web 90, web-canary 10, accepted by its Gateways\)/,
    );

    expect(step.log).toContain(
      'Promoted: Deployment shop/web runs the new template and takes all traffic; web-canary removed.',
    );
    expect(imageOf(gke.kube)).toBe(IMAGES.v2);
    expect(readyPods(gke.kube, 'web')).toEqual([IMAGES.v2, IMAGES.v2, IMAGES.v2]);
    expectOnlyStable();
    expect(routeWeights(gke.kube)).toEqual({ web: 1 });
    expect(step.summary).toContain(`### ✅ ${NS}/web (GKE): succeeded`);
    expect(step.summary).toContain('| 2 | 50% | 50% / 50% |');
  }, 90_000);

  it('rolls back at once when the canary breaches the error-rate SLO: 100% stable in one route update, canary removed, evidence in the summary', async () => {
    await seedWeb(gke.kube, { route: true });
    (gke.metrics.apps['web-canary'] as { behaviour: unknown }).behaviour = { errorRate: 0.2, latencyMs: 20 };
    const step = await new Job().run('gke-deploy', { inputs: inputs() });

    expect(step.exitCode).toBe(1);
    expect(step.outputs.status).toBe('rolled-back');
    expect(step.failure).toMatch(
      /^Step 1 \(10%\) analysis failed: A run failed: error-rate \d+(\.\d+)?% > 1% \(\d+ requests\)/,
    );
    expect(routeWrites(gke.kube)).toEqual([{ web: 90, 'web-canary': 10 }, { web: 1 }]);
    expect(imageOf(gke.kube)).toBe(IMAGES.v1);
    expect(step.outputs.revision).toBe('1');
    expectOnlyStable();
    expect(step.summary).toContain(`### ↩️ ${NS}/web (GKE): rolled-back`);
    expect(step.summary).toContain('Time to restore');
    expect(step.summary).toMatch(/\| error-rate \| ❌ fail \| \d+(\.\d+)?% \|/);
    const report = JSON.parse(readFileSync(step.outputs['analysis-report'] as string, 'utf8'));
    expect(report.failure).toMatchObject({ trigger: 'analysis' });
    expect(report.failure.recoverySeconds).toBeGreaterThanOrEqual(0);
  }, 90_000);

  it('does not pass a canary with too little traffic to judge: inconclusive rolls back', async () => {
    await seedWeb(gke.kube, { route: true });
    await gke.metrics.loads['web-canary']?.stop();
    gke.metrics.loads['web-canary'] = startLoad(
      gke.metrics.apps['web-canary'] as NonNullable<MetricsLab['apps'][string]>,
      0.5,
    );
    try {
      const step = await new Job().run('gke-deploy', { inputs: inputs() });
      expect(step.outputs.status).toBe('rolled-back');
      expect(step.failure).toMatch(/^Step 1 \(10%\) analysis was inconclusive: /);
      expect(step.failure).toMatch(/error-rate: too little traffic to judge \(.*min-count 100\)/);
      expect(routeWrites(gke.kube)).toEqual([{ web: 90, 'web-canary': 10 }, { web: 1 }]);
      expectOnlyStable();
    } finally {
      await gke.metrics.loads['web-canary']?.stop();
      gke.metrics.loads['web-canary'] = startLoad(
        gke.metrics.apps['web-canary'] as NonNullable<MetricsLab['apps'][string]>,
        20,
      );
    }
  }, 90_000);
});

describe('gke-deploy: canary by replica ratio (no HTTPRoute)', () => {
  it('sets the pod counts closest to each weight, says the weights are approximate, and promotes', async () => {
    await seedWeb(gke.kube);
    const step = await new Job().run('gke-deploy', {
      inputs: inputs({ 'http-route': '', steps: '10:1s,50:1s,100', analysis: 'none' }),
    });

    expect(step.failure).toBeUndefined();
    expect(step.outputs.status).toBe('succeeded');
    expect(step.log).toContain('traffic follows the ratio of pods, so each weight is approximate');
    // 3 replicas: 10% is nearest as 1 canary beside 5 stable, 50% as 2 and 2, 100% all 3 canary.
    expect(step.log).toContain(
      'Step 1/3: 17% on the new version, 83% on stable (confirmed: replica ratio behind Service web: 1 canary pod, 5 stable; approximate without an http-route (10% asked for))',
    );
    expect(step.log).toContain(
      'Step 2/3: 50% on the new version, 50% on stable (confirmed: replica ratio behind Service web: 2 canary pods, 2 stable;',
    );
    expect(step.log).toContain('Step 3/3: 100% on the new version, 0% on stable');
    // The shared Service was pinned to the stable pods while the canary's first pod started, and let go at step 1.
    const pins = gke.kube
      .requestsOf('PUT', 'services')
      .filter((r) => r.path.endsWith('/web'))
      .map((r) => (r.body as Obj).spec.selector['pod-template-hash'] ?? null);
    expect(pins).toEqual([expect.any(String), null]);
    expect(imageOf(gke.kube)).toBe(IMAGES.v2);
    expect(gke.kube.get('deployments', NS, 'web')?.spec.replicas).toBe(3);
    expect(readyPods(gke.kube, 'web')).toEqual([IMAGES.v2, IMAGES.v2, IMAGES.v2]);
    expectOnlyStable();
  }, 60_000);
});
