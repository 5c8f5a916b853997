/**
 * Pause and resume of a GKE canary across jobs, through the bundles against the Kubernetes
 * stand-in: a pause step ends the job with the canary held behind the HTTPRoute; a later
 * job (a new process, another run) resumes and promotes it, or the rollback action aborts it.
 */
import { describe, expect, it } from '@jest/globals';
import { decodeRecord } from '../../src/delivery/record.js';
import { useGkeLab } from '../support/gke-lab.js';
import { annotationsOf, IMAGES, imageOf, NS, objectNames, routeWeights, seedWeb } from '../support/gke-workload.js';
import { type StepResult } from '../support/runner.js';

const gke = useGkeLab({ github: true });

const job = (runId: string) => gke.job(runId, gke.gh.env());
const inputs = (extra: Record<string, string> = {}) => ({
  kubeconfig: gke.kubeconfig,
  namespace: NS,
  deployment: 'web',
  image: IMAGES.v2,
  strategy: 'canary',
  'http-route': 'web',
  steps: '10,25:pause,100',
  'step-duration': '0s',
  analysis: 'none',
  ...extra,
});
const record = () => decodeRecord(annotationsOf(gke.kube)['platform-actions/rollout']);

async function pause(extra: Record<string, string> = {}): Promise<StepResult> {
  await seedWeb(gke.kube, { route: true });
  const step = await job('4242').run('gke-deploy', { inputs: inputs(extra) });
  expect(step.failure).toBeUndefined();
  expect(step.outputs.status).toBe('paused');
  expect(routeWeights(gke.kube)).toEqual({ web: 75, 'web-canary': 25 });
  return step;
}

describe('gke-deploy: pause and resume across jobs', () => {
  it('pauses at 25%, the post step leaves it, and a later job resumes it in a new process and promotes', async () => {
    const paused = await pause({
      environment: 'production',
      'github-token': gke.gh.token,
      'pause-timeout': '3h',
      'allow-tag': 'true',
    });
    expect(record()).toMatchObject({ phase: 'paused', weight: 25, step: 1, run: '4242.1', canary: 'web-canary' });
    expect(record()?.lease).toBeUndefined();
    expect((record()?.pauseUntil as number) * 1000).toBeGreaterThan(Date.now() + 3 * 3_600_000 - 60_000);
    expect(paused.summary).toContain(`### ⏸️ ${NS}/web (GKE): paused`);
    expect(paused.summary).toContain('steps: 10,25:pause,100');
    expect(paused.summary).toContain('platform: gke');
    const deployment = gke.gh.store
      .repo('acme', 'webapp')
      .deployments.get(Number(paused.outputs['github-deployment-id']));
    expect(deployment?.statuses.map((s) => s.state)).toEqual(['in_progress', 'in_progress']);
    expect(deployment?.statuses.at(-1)?.description).toMatch(/^Paused at 25% until /);

    const post = await job('4242').post(paused);
    expect(post.exitCode).toBe(0);
    expect(routeWeights(gke.kube)).toEqual({ web: 75, 'web-canary': 25 });

    const resumed = await job('5151').run('gke-deploy', {
      inputs: inputs({ environment: 'production', 'github-token': gke.gh.token, resume: 'true', 'allow-tag': 'true' }),
    });
    expect(resumed.failure).toBeUndefined();
    expect(resumed.outputs).toMatchObject({
      status: 'succeeded',
      'deployment-id': paused.outputs['deployment-id'],
      'github-deployment-id': paused.outputs['github-deployment-id'],
    });
    expect(resumed.log).toContain('Resuming the paused canary rollout');
    expect(imageOf(gke.kube)).toBe(IMAGES.v2);
    expect(routeWeights(gke.kube)).toEqual({ web: 1 });
    expect(objectNames(gke.kube).deployments).toEqual(['web']);
    expect(record()).toBeUndefined();
    expect(deployment?.statuses.map((s) => s.state)).toEqual(['in_progress', 'in_progress', 'in_progress', 'success']);
  }, 90_000);

  it('aborts a paused canary with the rollback action', async () => {
    await pause();
    const step = await job('6000').run('rollback', {
      inputs: { kubeconfig: gke.kubeconfig, namespace: NS, deployment: 'web', reason: 'not approved' },
    });
    expect(step.failure).toBeUndefined();
    expect(step.outputs.status).toBe('rolled-back');
    expect(imageOf(gke.kube)).toBe(IMAGES.v1);
    expect(routeWeights(gke.kube)).toEqual({ web: 1 });
    expect(objectNames(gke.kube).deployments).toEqual(['web']);
    expect(record()).toBeUndefined();
  }, 60_000);

  it('refuses a resume with nothing paused and a resume with another image, and an ordinary deploy over the paused canary', async () => {
    await seedWeb(gke.kube, { route: true });
    const none = await job('5151').run('gke-deploy', { inputs: inputs({ resume: 'true' }) });
    expect(none.exitCode).not.toBe(0);
    expect(none.failure).toContain(
      `resume is true, but Deployment ${NS}/web has no paused rollout (no rollout record on it). Nothing was changed.`,
    );

    gke.kube.reset();
    await pause();
    const writes = () =>
      gke.kube.requestsOf('PUT', 'httproutes').length + gke.kube.requestsOf('PATCH', 'deployments').length;
    const before = writes();
    const other = await job('5151').run('gke-deploy', { inputs: inputs({ resume: 'true', image: IMAGES.broken }) });
    expect(other.exitCode).not.toBe(0);
    expect(other.failure).toContain(
      `The paused canary web-canary runs app: ${IMAGES.v2}, but this job was given app: ${IMAGES.broken}. Nothing was changed.`,
    );

    const fresh = await job('7000').run('gke-deploy', { inputs: inputs({ image: IMAGES.broken, steps: '50,100' }) });
    expect(fresh.exitCode).not.toBe(0);
    expect(fresh.failure).toContain('holds a paused canary');
    expect(fresh.failure).toContain('resume: true');
    expect(writes()).toBe(before);
    expect(routeWeights(gke.kube)).toEqual({ web: 75, 'web-canary': 25 });
    expect(record()?.phase).toBe('paused');
  }, 90_000);
});
