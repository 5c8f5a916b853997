/**
 * gke-deploy when the job dies mid-canary: cancelled (SIGTERM) while the Gateway is too
 * slow for the rollback to finish in the runner's grace period, so the post step restores
 * stable; killed outright (SIGKILL) with the post step; and killed with no post step at
 * all, so the next run finds the record on the Deployment and finishes it first.
 */
import { describe, expect, it } from '@jest/globals';
import { useGkeLab } from '../support/gke-lab.js';
import { annotationsOf, IMAGES, imageOf, NS, objectNames, routeWeights, routeWrites } from '../support/gke-workload.js';
import { type Obj } from '../support/kube-server.js';
import { setWorkflowRun } from '../support/github-server.js';
import { type Job } from '../support/runner.js';

const gke = useGkeLab({ github: true, seed: { route: true } });

const job = (runId = '4242') => gke.job(runId);
const inputs = (extra: Record<string, string> = {}) => ({
  kubeconfig: gke.kubeconfig,
  namespace: NS,
  deployment: 'web',
  image: IMAGES.v2,
  strategy: 'canary',
  'http-route': 'web',
  // 10% passes in a second; 50% bakes for 5 minutes, until the test kills the job.
  steps: '10:1s,50:5m,100',
  analysis: 'none',
  ...extra,
});

async function startAndReach50(j: Job) {
  const running = j.start('gke-deploy', { inputs: inputs() });
  await running.waitForLog(/^Step 2\/3: 50% on the new version/, 45_000);
  return running;
}

function expectStable(): void {
  expect(routeWeights(gke.kube)).toEqual({ web: 1 });
  expect(objectNames(gke.kube)).toEqual({ deployments: ['web'], services: ['status', 'web'] });
  expect((gke.kube.get('services', NS, 'web') as Obj).spec.selector).toEqual({ app: 'web' });
  expect(annotationsOf(gke.kube)).not.toHaveProperty('platform-actions/rollout');
  expect(annotationsOf(gke.kube)).not.toHaveProperty('platform-actions/traffic');
  expect(imageOf(gke.kube)).toBe(IMAGES.v1);
}

describe('gke-deploy: crash safety', () => {
  it('rolls back within the grace period when the job is cancelled (SIGTERM) at 50%; the post step finds nothing left', async () => {
    const j = job();
    const running = await startAndReach50(j);
    running.kill('SIGTERM');
    const main = await running.done;

    expect(main.log).toContain('The job was cancelled at step 2 (50%).');
    expect(main.log).toMatch(/All traffic is back on web-\w+/);
    expect(main.outputs.status).toBe('rolled-back');
    expectStable();
    const post = await j.post(main);
    expect(post.exitCode).toBe(0);
    expect(post.log).not.toContain('Found');
  }, 90_000);

  it('leaves the rollback to the post step when a cancel (SIGTERM) comes while the Gateway is too slow to finish it in the grace period', async () => {
    const j = job();
    const running = await startAndReach50(j);
    gke.kube.controllers.gateway.delayMs = 8000;
    running.kill('SIGTERM');
    const main = await running.done;

    expect(main.log).toContain('The job was cancelled at step 2 (50%).');
    expect(main.outputs.status).toBe('failed');
    expect(main.log).toMatch(/The rollback did not finish: .*The rollout record stays on the resource/);
    expect(annotationsOf(gke.kube)['platform-actions/rollout']).toMatch(
      /^v1 id=4242\.1-\w+ e=gke-canary p=rolling-back s=web-\w+ c=web-canary w=50 i=1 t=\d+ r=4242\.1 l=\d+$/,
    );

    gke.kube.controllers.gateway.delayMs = 0;
    const post = await j.post(main);
    expect(post.exitCode).toBe(0);
    expect(post.log).toContain('Found an unfinished rollout');
    expect(post.summary).toContain('cleaned up by the post step');
    expectStable();
  }, 90_000);

  it('lets the post step return all traffic to stable after the main step was killed (SIGKILL) at 50%', async () => {
    const j = job();
    const running = await startAndReach50(j);
    running.kill('SIGKILL');
    const main = await running.done;
    expect(main.signal).toBe('SIGKILL');
    expect(annotationsOf(gke.kube)['platform-actions/rollout']).toMatch(
      /^v1 id=4242\.1-\w+ e=gke-canary p=shifting s=web-\w+ c=web-canary w=50 i=1 t=\d+ r=4242\.1 l=\d+$/,
    );
    expect(routeWeights(gke.kube)).toEqual({ web: 50, 'web-canary': 50 });

    const post = await j.post(main);
    expect(post.exitCode).toBe(0);
    expect(post.log).toContain('Found an unfinished rollout');
    // One write back to stable (the canary's ref removed with it).
    expect(routeWrites(gke.kube).slice(-1)).toEqual([{ web: 1 }]);
    expectStable();
  }, 90_000);

  it('finishes a killed rollout first on the next run (no post step ran), then rolls out its own', async () => {
    const first = await startAndReach50(job('4242'));
    first.kill('SIGKILL');
    await first.done;

    // Its lease still runs and nobody asked GitHub: it may still be driving, so the next run refuses.
    const early = await job('4243').run('gke-deploy', { inputs: inputs({ steps: '100', 'step-duration': '0s' }) });
    expect(early.failure).toMatch(/is in the middle of rollout 4242\.1-\w+ .*its lease runs for another/);
    expect(routeWeights(gke.kube)).toMatchObject({ web: 50, 'web-canary': 50 });

    // GitHub says run 4242 ended: the next run finishes the rollout at once.
    setWorkflowRun(gke.gh.store, 'acme', 'webapp', 4242, { status: 'completed', conclusion: 'cancelled' });
    const next = await gke.job('4243', gke.gh.env()).run('gke-deploy', {
      inputs: inputs({ steps: '100', 'step-duration': '0s', 'github-token': gke.gh.token }),
    });
    expect(next.failure).toBeUndefined();
    expect(next.log).toContain('GitHub reports run 4242.1 as finished');
    expect(next.log).toMatch(
      /Found an unfinished rollout 4242\.1-\w+ \(gke-canary\), shifting at step 2 with up to 50% on the new version/,
    );
    expect(next.log).toMatch(/The earlier rollout 4242\.1-\w+ was rolled-back/);
    expect(next.summary).toContain('Cleaned up first');
    expect(next.outputs.status).toBe('succeeded');
    expect(imageOf(gke.kube)).toBe(IMAGES.v2);
    expect(routeWeights(gke.kube)).toEqual({ web: 1 });
    expect(objectNames(gke.kube).deployments).toEqual(['web']);
  }, 90_000);
});
