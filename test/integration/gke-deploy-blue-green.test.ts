/**
 * gke-deploy's blue-green engine, the bundle run as the runner runs it, against the
 * Kubernetes stand-in, with the analysis asking a real Prometheus that scrapes loopback
 * test apps labelled as blue (`web`) and green (`web-green`), under load the test turns on
 * and off (a preview with or without traffic).
 */
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
import { startLoad, type MetricsApp } from '../support/metrics-app.js';
import { Job } from '../support/runner.js';

const healthy = { errorRate: 0, latencyMs: 20 };
const gke = useGkeLab({
  metrics: { web: { behaviour: healthy, rps: 20 }, 'web-green': { behaviour: healthy, rps: 20 } },
});
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
`;

const green = () => gke.metrics.apps['web-green'] as MetricsApp;
/** Sets the green app's load (0 stops it) and behaviour. */
async function greenTraffic(rps: number, behaviour = healthy): Promise<void> {
  await gke.metrics.loads['web-green']?.stop();
  delete gke.metrics.loads['web-green'];
  green().behaviour = behaviour;
  if (rps > 0) gke.metrics.loads['web-green'] = startLoad(green(), rps);
}

beforeEach(() => greenTraffic(20));

const inputs = (extra: Record<string, string> = {}) => ({
  kubeconfig: gke.kubeconfig,
  namespace: NS,
  deployment: 'web',
  image: IMAGES.v2,
  strategy: 'blue-green',
  'http-route': 'web',
  'step-duration': '10s',
  analysis: SPEC,
  'prometheus-url': gke.metrics.prometheus.url,
  ...extra,
});

function expectOnlyStable(): void {
  expect(objectNames(gke.kube).deployments).toEqual(['web']);
  expect(objectNames(gke.kube).services).not.toContain('web-preview');
  const svc = gke.kube.get('services', NS, 'web') as Obj;
  expect(svc.spec.selector).toEqual({ app: 'web' });
  for (const key of ['platform-actions/rollout', 'platform-actions/traffic', 'platform-actions/blue-green'])
    expect(annotationsOf(gke.kube)).not.toHaveProperty(key);
}

describe('gke-deploy: blue-green', () => {
  it('judges green on the preview, switches the route in one change, keeps blue for instant revert; the next run retires blue first', async () => {
    await seedWeb(gke.kube, { route: true });
    const step = await new Job().run('gke-deploy', { inputs: inputs() });

    expect(step.failure).toBeUndefined();
    expect(step.outputs).toMatchObject({
      status: 'succeeded',
      engine: 'gke-blue-green',
      'previous-revision': '1',
      revision: '',
    });
    expect(step.log).toMatch(/The green side passed on the preview: /);
    expect(step.summary).toContain('#### Preview, before the switch: ✅ pass');
    // The switch is one write; blue keeps its weight-0 ref for the way back.
    expect(routeWrites(gke.kube)).toEqual([{ web: 0, 'web-preview': 100 }]);
    // Blue is untouched and at full size; green serves.
    expect(imageOf(gke.kube, 'web')).toBe(IMAGES.v1);
    expect(readyPods(gke.kube, 'web')).toEqual([IMAGES.v1, IMAGES.v1, IMAGES.v1]);
    expect(readyPods(gke.kube, 'web-green')).toEqual([IMAGES.v2, IMAGES.v2, IMAGES.v2]);
    const kept = JSON.parse(annotationsOf(gke.kube)['platform-actions/blue-green'] as string);
    expect(kept).toMatchObject({
      id: step.outputs['deployment-id'],
      green: 'web-green',
      blue: expect.stringMatching(/^web-\w+$/),
    });
    expect(kept.until * 1000).toBeGreaterThan(Date.now() + 9 * 60_000);
    expect(step.summary).toContain('Blue kept');
    expect(step.log).toContain(
      `Promoted: web-green takes all traffic; blue (ReplicaSet ${kept.blue}) stays, without traffic, for instant revert until`,
    );
    // The stable Service selects only blue's pods while both run.
    expect((gke.kube.get('services', NS, 'web') as Obj).spec.selector).toEqual({
      app: 'web',
      'pod-template-hash': kept.blue.replace(/^web-/, ''),
    });

    // The next deploy supersedes the kept blue: web takes green's template, traffic returns to it, green goes.
    const next = await new Job().run('gke-deploy', {
      inputs: inputs({ strategy: 'rolling', 'http-route': '', analysis: 'none' }),
    });
    expect(next.failure).toBeUndefined();
    expect(next.log).toContain(`Rollout ${kept.id} kept blue (ReplicaSet ${kept.blue}) for instant revert until`);
    expect(next.summary).toContain(`Before this rollout: blue of rollout ${kept.id}`);
    expect(routeWrites(gke.kube).at(-1)).toEqual({ web: 1 });
    expect(routeWeights(gke.kube)).toEqual({ web: 1 });
    expect(imageOf(gke.kube, 'web')).toBe(IMAGES.v2);
    expect(readyPods(gke.kube, 'web')).toEqual([IMAGES.v2, IMAGES.v2, IMAGES.v2]);
    expectOnlyStable();
  }, 90_000);

  it('switches the Service selector when there is no route, judges after the switch when the preview had no traffic, and reverts in one change on a breach', async () => {
    await seedWeb(gke.kube);
    await greenTraffic(0);
    const running = new Job().start('gke-deploy', { inputs: inputs({ 'http-route': '' }) });
    await running.waitForLog(/^Step 1\/1: 100% on the new version/, 60_000);
    // Live traffic reaches green now, and it fails.
    await greenTraffic(20, { errorRate: 0.2, latencyMs: 20 });
    const step = await running.done;

    expect(step.log).toMatch(/The preview had too little to judge \(error-rate: too little traffic to judge/);
    expect(step.log).toMatch(
      /Step 1\/1: 100% on the new version, 0% on stable \(confirmed: Service web selects pod-template-hash=\w+ \(ReplicaSet web-green-\w+ of web-green\)\)/,
    );
    expect(step.outputs.status).toBe('rolled-back');
    expect(step.failure).toMatch(/^Step 1 \(100%\) analysis failed: A run failed: error-rate/);
    // Two selector writes to move traffic: green's hash at the switch, blue's at the revert; then the pin comes off.
    const selectors = gke.kube
      .requestsOf('PUT', 'services')
      .filter((r) => r.path.endsWith('/web'))
      .map((r) => (r.body as Obj).spec.selector);
    expect(selectors.map((s) => s['pod-template-hash'] ?? null)).toEqual([
      expect.any(String),
      expect.any(String),
      expect.any(String),
      null,
    ]);
    expect(selectors[0]['pod-template-hash']).toBe(selectors[2]['pod-template-hash']);
    expect(selectors[1]['pod-template-hash']).not.toBe(selectors[0]['pod-template-hash']);
    expect(imageOf(gke.kube, 'web')).toBe(IMAGES.v1);
    expectOnlyStable();
    expect(step.summary).toContain('Time to restore');
  }, 90_000);

  it('rolls back before any production traffic when green fails on the preview', async () => {
    await seedWeb(gke.kube, { route: true });
    await greenTraffic(20, { errorRate: 0.2, latencyMs: 20 });
    const step = await new Job().run('gke-deploy', { inputs: inputs() });

    expect(step.outputs.status).toBe('rolled-back');
    expect(step.failure).toMatch(
      /^The new version did not become healthy: The green side failed on the preview Service web-preview, before any production traffic reached it: /,
    );
    expect(step.summary).toContain('#### Preview, before the switch: ❌ fail');
    // The route was never written.
    expect(routeWrites(gke.kube)).toEqual([]);
    expect(routeWeights(gke.kube)).toEqual({ web: 1 });
    expectOnlyStable();
  }, 60_000);

  it('retires blue at once with keep-previous 0', async () => {
    await seedWeb(gke.kube);
    const step = await new Job().run('gke-deploy', {
      inputs: inputs({ 'http-route': '', 'keep-previous': '0', analysis: 'none' }),
    });

    expect(step.failure).toBeUndefined();
    expect(step.outputs).toMatchObject({ status: 'succeeded', revision: '2' });
    expect(imageOf(gke.kube, 'web')).toBe(IMAGES.v2);
    expect(readyPods(gke.kube, 'web')).toEqual([IMAGES.v2, IMAGES.v2, IMAGES.v2]);
    expectOnlyStable();
  }, 60_000);
});
