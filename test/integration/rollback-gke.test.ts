/**
 * The rollback action on GKE, through its bundle, against the Kubernetes stand-in: a canary
 * killed at 50% undone from its record, a blue kept by blue-green switched back to in one
 * change, the previous and a given revision of a rolled-out Deployment, nothing to do,
 * GitHub Deployments, and bad input.
 */
import { describe, expect, it } from '@jest/globals';
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

const gke = useGkeLab({ github: true });

const job = (runId = '4242') => gke.job(runId, gke.gh.env());
const deploy = (extra: Record<string, string>) => ({
  kubeconfig: gke.kubeconfig,
  namespace: NS,
  deployment: 'web',
  image: IMAGES.v2,
  analysis: 'none',
  ...extra,
});
const rollback = (extra: Record<string, string> = {}) => ({
  kubeconfig: gke.kubeconfig,
  namespace: NS,
  deployment: 'web',
  reason: 'on-call',
  ...extra,
});

describe('rollback: GKE', () => {
  it('undoes a canary killed at 50% from its record, marks its GitHub Deployment failed and records the rollback', async () => {
    await seedWeb(gke.kube, { route: true });
    const running = job('4242').start('gke-deploy', {
      inputs: deploy({
        strategy: 'canary',
        'http-route': 'web',
        steps: '10:1s,50:5m,100',
        environment: 'production',
        'allow-tag': 'true',
        'github-token': gke.gh.token,
      }),
    });
    await running.waitForLog(/^Step 2\/3: 50% on the new version/, 45_000);
    running.kill('SIGKILL');
    await running.done;
    expect(routeWeights(gke.kube)).toEqual({ web: 50, 'web-canary': 50 });

    const step = await job('4243').run('rollback', {
      inputs: rollback({ environment: 'production', 'github-token': gke.gh.token }),
    });
    expect(step.failure).toBeUndefined();
    expect(step.outputs).toMatchObject({ status: 'rolled-back', 'rolled-back-to': '1' });
    expect(Number(step.outputs['recovery-seconds'])).toBeGreaterThanOrEqual(0);
    expect(step.log).toMatch(/Found an unfinished rollout 4242\.1-\w+ \(gke-canary\), shifting at step 2/);
    expect(routeWrites(gke.kube).at(-1)).toEqual({ web: 1 });
    expect(objectNames(gke.kube)).toEqual({ deployments: ['web'], services: ['status', 'web'] });
    expect((gke.kube.get('services', NS, 'web') as Obj).spec.selector).toEqual({ app: 'web' });
    expect(annotationsOf(gke.kube)).not.toHaveProperty('platform-actions/rollout');
    expect(imageOf(gke.kube)).toBe(IMAGES.v1);
    expect(step.summary).toContain(`Rolled back ${NS}/web (GKE)`);

    const deployments = [...gke.gh.store.repo('acme', 'webapp').deployments.values()].map((d) => ({
      ...d,
      payload: d.payload as Record<string, unknown>,
    }));
    const undone = deployments.find((d) => d.payload?.engine === 'gke-canary');
    expect(undone?.statuses.map((s) => s.state)).toEqual(['in_progress', 'failure']);
    const recorded = deployments.find((d) => d.payload?.rollback === true);
    expect(recorded?.payload).toMatchObject({ platform: 'gke', service: 'web', image: IMAGES.v1, rollback: true });
    expect(recorded?.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
  }, 90_000);

  it('switches back to the blue a blue-green rollout kept, in one change, and removes green (refusing a route other than the recorded one first)', async () => {
    await seedWeb(gke.kube, { route: true });
    const bg = await job().run('gke-deploy', { inputs: deploy({ strategy: 'blue-green', 'http-route': 'web' }) });
    expect(bg.outputs.status).toBe('succeeded');
    expect(routeWeights(gke.kube)).toEqual({ web: 0, 'web-preview': 100 });
    const writes = routeWrites(gke.kube).length;

    const wrongRoute = await job('4243').run('rollback', { inputs: rollback({ 'http-route': 'shop' }) });
    expect(wrongRoute.failure).toMatch(
      /^http-route is shop, but the rollout recorded on Deployment shop\/web moved traffic with HTTPRoute web\./,
    );
    expect(routeWrites(gke.kube)).toHaveLength(writes);

    const step = await job('4243').run('rollback', { inputs: rollback() });
    expect(step.failure).toBeUndefined();
    expect(step.outputs).toMatchObject({ status: 'rolled-back', 'rolled-back-to': '1' });
    expect(step.log).toContain('switching back to it');
    expect(routeWrites(gke.kube).slice(writes)).toEqual([{ web: 1 }]);
    expect(objectNames(gke.kube).deployments).toEqual(['web']);
    expect(readyPods(gke.kube, 'web')).toEqual([IMAGES.v1, IMAGES.v1, IMAGES.v1]);
    expect(annotationsOf(gke.kube)).not.toHaveProperty('platform-actions/blue-green');
  }, 60_000);

  it('returns a rolled-out Deployment to the previous revision, then to a given one; nothing to do when it runs that already', async () => {
    await seedWeb(gke.kube);
    expect((await job().run('gke-deploy', { inputs: deploy({}) })).outputs.revision).toBe('2');

    const back = await job('4243').run('rollback', { inputs: rollback() });
    expect(back.failure).toBeUndefined();
    expect(back.outputs).toMatchObject({ status: 'rolled-back', 'rolled-back-to': '3' });
    expect(back.log).toMatch(
      /Putting the template of revision 1 \(ReplicaSet web-\w+\) back into Deployment shop\/web/,
    );
    expect(imageOf(gke.kube)).toBe(IMAGES.v1);
    expect(readyPods(gke.kube, 'web')).toEqual([IMAGES.v1, IMAGES.v1, IMAGES.v1]);

    // Revision 2 was just rolled back: returning to it is explicit.
    const refused = await job('4244').run('rollback', { inputs: rollback({ to: '2' }) });
    expect(refused.failure).toMatch(
      /^Revision 2 of Deployment shop\/web \(ghcr\.io\/acme\/web:2\.0\.0\) was rolled back, so it is not returned to without allow-any-revision: true\./,
    );
    expect(imageOf(gke.kube)).toBe(IMAGES.v1);
    const forward = await job('4244').run('rollback', { inputs: rollback({ to: '2', 'allow-any-revision': 'true' }) });
    expect(forward.outputs).toMatchObject({ status: 'rolled-back', 'rolled-back-to': '4' });
    expect(imageOf(gke.kube)).toBe(IMAGES.v2);

    const same = await job('4245').run('rollback', { inputs: rollback({ to: '4' }) });
    expect(same.outputs).toMatchObject({ status: 'nothing-to-do', 'rolled-back-to': '4', 'recovery-seconds': '0' });
  }, 60_000);

  it('undoes a rolling rollout that rollback-on-failure false left held (the post step leaves it alone)', async () => {
    await seedWeb(gke.kube, { progressDeadlineSeconds: 2 });
    gke.kube.failImage(IMAGES.broken, 'ImagePullBackOff');
    const j = job();
    const held = await j.run('gke-deploy', {
      inputs: deploy({ image: IMAGES.broken, 'rollback-on-failure': 'false' }),
    });
    expect(held.outputs.status).toBe('failed');
    expect(held.log).toContain('rollback-on-failure is false');
    expect(annotationsOf(gke.kube)['platform-actions/rollout']).toMatch(/ e=gke-rolling p=held /);
    const post = await j.post(held);
    expect(post.log).toContain('left as it is because rollback-on-failure is false');
    expect(imageOf(gke.kube)).toBe(IMAGES.broken);

    const step = await job('4243').run('rollback', { inputs: rollback() });
    expect(step.outputs).toMatchObject({ status: 'rolled-back', 'rolled-back-to': '3' });
    expect(imageOf(gke.kube)).toBe(IMAGES.v1);
    expect(readyPods(gke.kube, 'web')).toEqual([IMAGES.v1, IMAGES.v1, IMAGES.v1]);
    expect(annotationsOf(gke.kube)).not.toHaveProperty('platform-actions/rollout');
  }, 60_000);

  it('refuses a revision the Deployment does not have, and a revision that is not a number, before any change', async () => {
    await seedWeb(gke.kube);
    const missing = await job().run('rollback', { inputs: rollback({ to: '7' }) });
    expect(missing.failure).toMatch(/^Deployment shop\/web has no revision 7 \(its history: 1\)\./);
    const bad = await job().run('rollback', { inputs: rollback({ to: 'latest' }) });
    expect(bad.failure).toMatch(
      /^Input 'to' is 'latest', which is neither previous nor a Deployment revision number\./,
    );
    expect(gke.kube.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  }, 30_000);
});
