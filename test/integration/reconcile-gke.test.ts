/**
 * The reconcile action through its bundle against the Kubernetes stand-in, with the GitHub
 * stand-in answering run status: a canary killed at 10% with no post step is restored, a
 * live owner is left alone, a blue kept past keep-previous is retired.
 */
import { describe, expect, it } from '@jest/globals';
import { useGkeLab } from '../support/gke-lab.js';
import { annotationsOf, IMAGES, imageOf, NS, objectNames, routeWeights } from '../support/gke-workload.js';
import { setWorkflowRun } from '../support/github-server.js';

const gke = useGkeLab({ github: true, seed: { route: true } });

const job = (runId: string) => gke.job(runId, gke.gh.env());
const deploy = (extra: Record<string, string>) => ({
  kubeconfig: gke.kubeconfig,
  namespace: NS,
  deployment: 'web',
  image: IMAGES.v2,
  'http-route': 'web',
  analysis: 'none',
  ...extra,
});
const reconcile = (extra: Record<string, string> = {}) =>
  job('9000').run('reconcile', {
    inputs: { platform: 'gke', kubeconfig: gke.kubeconfig, namespaces: NS, 'github-token': gke.gh.token, ...extra },
  });

async function killedAt10(): Promise<void> {
  const running = job('4242').start('gke-deploy', { inputs: deploy({ strategy: 'canary', steps: '10:5m,50,100' }) });
  await running.waitForLog(/^Step 1\/3: 10% on the new version/, 45_000);
  running.kill('SIGKILL');
  await running.done;
  expect(annotationsOf(gke.kube)['platform-actions/rollout']).toMatch(/ p=shifting .* r=4242\.1/);
}

describe('reconcile on GKE', () => {
  it('restores stable after a canary runner was SIGKILLed at 10% with no post step', async () => {
    await killedAt10();
    setWorkflowRun(gke.gh.store, 'acme', 'webapp', 4242, { status: 'completed', conclusion: 'cancelled' });
    const result = await reconcile();
    expect(result.failure).toBeUndefined();
    expect(JSON.parse(result.outputs.actions as string)).toEqual([
      expect.objectContaining({ where: `${NS}/web`, done: 'rolled-back' }),
    ]);
    expect(routeWeights(gke.kube)).toEqual({ web: 1 });
    expect(objectNames(gke.kube).deployments).toEqual(['web']);
    expect(annotationsOf(gke.kube)).not.toHaveProperty('platform-actions/rollout');
    expect(imageOf(gke.kube)).toBe(IMAGES.v1);
  }, 90_000);

  it('leaves a canary alone while its run is in progress', async () => {
    await killedAt10();
    setWorkflowRun(gke.gh.store, 'acme', 'webapp', 4242, { status: 'in_progress' });
    const left = await reconcile();
    expect(left.failure).toBeUndefined();
    expect(JSON.parse(left.outputs.counts as string)).toMatchObject({ rollouts: 1, left: 1, acted: 0 });
    expect(objectNames(gke.kube).deployments).toEqual(['web', 'web-canary']);
  }, 90_000);

  it('retires a blue kept past keep-previous', async () => {
    const step = await job('4300').run('gke-deploy', {
      inputs: deploy({ strategy: 'blue-green', 'keep-previous': '2s' }),
    });
    expect(step.outputs.status).toBe('succeeded');
    expect(annotationsOf(gke.kube)).toHaveProperty('platform-actions/blue-green');
    await new Promise((r) => setTimeout(r, 3000));
    const result = await reconcile();
    expect(result.failure).toBeUndefined();
    expect(JSON.parse(result.outputs.actions as string)).toEqual([
      expect.objectContaining({ state: 'blue kept', done: 'retired' }),
    ]);
    expect(imageOf(gke.kube, 'web')).toBe(IMAGES.v2);
    expect(objectNames(gke.kube).deployments).toEqual(['web']);
    expect(annotationsOf(gke.kube)).not.toHaveProperty('platform-actions/blue-green');
  }, 90_000);
});
