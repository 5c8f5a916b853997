/**
 * One owner per rollout on GKE, through the bundles, against the Kubernetes stand-in with a
 * real Prometheus judging loopback apps: the rollback action taking over a canary that is
 * baking behind an HTTPRoute, and a person editing the route's weights by hand.
 */
import { describe, expect, it } from '@jest/globals';
import { useGkeLab } from '../support/gke-lab.js';
import { annotationsOf, IMAGES, NS, objectNames, routeWeights, routeWrites, seedWeb } from '../support/gke-workload.js';
import { type Obj } from '../support/kube-server.js';

const healthy = { errorRate: 0, latencyMs: 20 };
const gke = useGkeLab({
  metrics: { web: { behaviour: healthy, rps: 20 }, 'web-canary': { behaviour: healthy, rps: 20 } },
});
const SPEC = `
interval: 10s
failure-limit: 1
provider: prometheus
metrics:
  - name: error-rate
    query: (sum(rate(http_requests_total{namespace="{{namespace}}", deployment="{{deployment}}", code=~"5.."}[{{range}}])) or vector(0)) / sum(rate(http_requests_total{namespace="{{namespace}}", deployment="{{deployment}}"}[{{range}}]))
    judge: { threshold: { max: 1% } }
`;

const job = (runId = '4242') => gke.job(runId);
const deploy = (extra: Record<string, string> = {}) => ({
  kubeconfig: gke.kubeconfig,
  namespace: NS,
  deployment: 'web',
  image: IMAGES.v2,
  strategy: 'canary',
  'http-route': 'web',
  steps: '10:60s,50,100',
  'step-duration': '10s',
  analysis: SPEC,
  'prometheus-url': gke.metrics.prometheus.url,
  ...extra,
});

describe('gke-deploy: one owner per rollout', () => {
  it('yields to the rollback action within one interval while baking, and never writes the route again', async () => {
    await seedWeb(gke.kube, { route: true });
    const running = job('4242').start('gke-deploy', { inputs: deploy() });
    await running.waitForLog(/Judging 10% for 1m/);
    expect(routeWeights(gke.kube)).toMatchObject({ web: 90, 'web-canary': 10 });

    const rollback = await job('5555').run('rollback', {
      inputs: { kubeconfig: gke.kubeconfig, namespace: NS, deployment: 'web', reason: 'paged' },
    });
    const rolledBackAt = Date.now();
    expect(rollback.failure).toBeUndefined();
    expect(rollback.outputs.status).toBe('rolled-back');
    expect(rollback.log).toContain('Asked rollout 4242.1-');
    const writesAfterRollback = routeWrites(gke.kube).length;

    const step = await running.done;
    // Long before its 60 s bake would have ended.
    expect(Date.now() - rolledBackAt).toBeLessThan(40_000);
    expect(step.outputs.status).toBe('rolled-back');
    expect(step.failure).toContain(
      'without touching traffic: Aborted by the rollback action in run 5555.1 started by octocat',
    );
    // The deploy wrote the route once (10%); only the rollback wrote it after that.
    expect(routeWrites(gke.kube)[0]).toEqual({ web: 90, 'web-canary': 10 });
    expect(routeWrites(gke.kube)).toHaveLength(writesAfterRollback);
    expect(routeWeights(gke.kube)).not.toHaveProperty('web-canary');
    expect(objectNames(gke.kube).deployments).toEqual(['web']);
    expect(annotationsOf(gke.kube)).not.toHaveProperty('platform-actions/rollout');
  }, 120_000);

  it('stops when someone edits the route weights by hand, leaves them as they are, and holds the record', async () => {
    await seedWeb(gke.kube, { route: true });
    const running = job().start('gke-deploy', { inputs: deploy({ steps: '10:40s,50,100' }) });
    await running.waitForLog(/Judging 10% for 40s/);
    gke.kube.edit('httproutes', NS, 'web', (route: Obj) => {
      for (const ref of route.spec.rules[0].backendRefs as Obj[]) ref.weight = ref.name === 'web' ? 100 : 0;
    });
    const edited = Date.now();
    const step = await running.done;

    // Before its 40 s bake would have ended.
    expect(Date.now() - edited).toBeLessThan(30_000);
    expect(step.outputs.status).toBe('failed');
    expect(step.failure).toContain(
      'Traffic was changed outside this rollout: it set 10% on the new version, and 0% is there now',
    );
    expect(routeWrites(gke.kube)).toEqual([{ web: 90, 'web-canary': 10 }]);
    expect(routeWeights(gke.kube)).toMatchObject({ web: 100, 'web-canary': 0 });
    expect(annotationsOf(gke.kube)['platform-actions/rollout']).toMatch(/ p=held /);

    const post = await job().post(step);
    expect(post.exitCode).toBe(0);
    expect(routeWrites(gke.kube)).toHaveLength(1);
  }, 90_000);
});
