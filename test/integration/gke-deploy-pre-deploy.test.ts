/**
 * gke-deploy's pre-deploy: a Kubernetes Job of the new image (a migration), run before the
 * rollout touches anything, against the Kubernetes stand-in. Its Job controller and the
 * container's log and exit code are the stand-in's (test/support/kube-jobs.ts); every Job
 * and pod written is checked against the Kubernetes schema.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { IMAGES, imageOf, NS, seedWeb } from '../support/gke-workload.js';
import { startKubeServer, type KubeServer, type Obj } from '../support/kube-server.js';
import { Job } from '../support/runner.js';

let kube: KubeServer;

beforeAll(async () => {
  kube = await startKubeServer();
}, 30_000);
afterAll(async () => {
  await kube.close();
});
beforeEach(() => kube.reset());
afterEach(() => expect(kube.problems).toEqual([]));

const inputs = (extra: Record<string, string> = {}) => ({
  kubeconfig: kube.kubeconfig(),
  namespace: NS,
  deployment: 'web',
  image: IMAGES.v2,
  analysis: 'none',
  'pre-deploy': '["python", "migrate.py", "--to", "head"]',
  ...extra,
});

/** Writes to the Deployments other than the server's dry runs. */
const deploymentWrites = () =>
  ['POST', 'PUT', 'PATCH', 'DELETE'].flatMap((m) =>
    kube.requestsOf(m, 'deployments').filter((r) => r.query.dryRun !== 'All'),
  );

describe('gke-deploy pre-deploy', () => {
  it('stops the deploy with nothing changed when the migration fails: its log and exit code shown, the Job and its pod deleted', async () => {
    await seedWeb(kube);
    kube.jobs.behave(IMAGES.v2, {
      lines: ['migrating 0012', 'ERROR: column "tenant_id" does not exist'],
      runMs: 800,
      exitCode: 1,
    });
    const step = await new Job().run('gke-deploy', { inputs: inputs() });

    expect(step.exitCode).toBe(1);
    expect(step.failure).toMatch(
      /^pre-deploy Job web-pre-deploy-[0-9a-f]{8} failed: container app exited with code 1 \(Error\)\. Nothing was deployed/,
    );
    expect(step.log).toMatch(
      /\d\d:\d\d:\d\d pre-deploy \| migrating 0012\n.*\d\d:\d\d:\d\d pre-deploy \| ERROR: column "tenant_id" does not exist/,
    );
    expect(deploymentWrites()).toEqual([]);
    expect(imageOf(kube)).toBe(IMAGES.v1);
    // The Job as sent: the app container alone, overridden, never restarted, labels of its own.
    const sent = kube.requestsOf('POST', 'jobs')[0]?.body as Obj;
    expect(sent.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 1800, ttlSecondsAfterFinished: 3600 });
    expect(sent.spec.template.spec.restartPolicy).toBe('Never');
    expect(sent.spec.template.spec.containers).toEqual([
      {
        name: 'app',
        image: IMAGES.v2,
        imagePullPolicy: 'IfNotPresent',
        ports: [{ containerPort: 8080, name: 'http' }],
        command: ['python', 'migrate.py', '--to', 'head'],
      },
    ]);
    expect(sent.spec.template.metadata.labels).not.toHaveProperty('app');
    expect(kube.requestsOf('DELETE', 'jobs').map((r) => (r.body as Obj).propagationPolicy)).toEqual(['Background']);
    expect(kube.list('jobs', NS)).toEqual([]);
    expect(kube.list('pods', NS).filter((p) => p.metadata.labels?.['job-name'])).toEqual([]);
  }, 60_000);

  it('runs the migration, each log line once, then deploys', async () => {
    await seedWeb(kube);
    const lines = Array.from({ length: 12 }, (_, i) => `applied migration ${String(i + 1).padStart(4, '0')}`);
    kube.jobs.behave(IMAGES.v2, { lines, runMs: 2500, exitCode: 0 });
    const step = await new Job().run('gke-deploy', {
      inputs: inputs({ 'pre-deploy': '', 'pre-deploy-args': 'upgrade head' }),
    });

    expect(step.failure).toBeUndefined();
    expect(step.outputs.status).toBe('succeeded');
    const shown = step.log
      .split('\n')
      .filter((l) => l.includes(' pre-deploy | '))
      .map((l) => l.replace(/^.*pre-deploy \| /, ''));
    expect(shown).toEqual(lines);
    expect(step.log).toMatch(/pre-deploy: Job web-pre-deploy-[0-9a-f]{8} exited with 0 after/);
    // Only args: the image's own entrypoint gets them.
    const container = (kube.requestsOf('POST', 'jobs')[0]?.body as Obj).spec.template.spec.containers[0];
    expect(container.args).toEqual(['upgrade', 'head']);
    expect(container).not.toHaveProperty('command');
    // The Job ran and was deleted before the Deployment was first written.
    const order = kube.requests.filter(
      (r) =>
        r.query.dryRun !== 'All' &&
        ((r.method === 'PUT' && r.path.includes('/deployments/')) ||
          (r.method === 'DELETE' && r.path.includes('/jobs/'))),
    );
    expect(order[0]?.method).toBe('DELETE');
    expect(imageOf(kube)).toBe(IMAGES.v2);
    expect(kube.list('jobs', NS)).toEqual([]);
  }, 60_000);

  it('stops a migration that outlives pre-deploy-timeout: the Job fails at its deadline and is deleted, nothing deployed', async () => {
    await seedWeb(kube);
    kube.jobs.behave(IMAGES.v2, { lines: ['waiting for the database lock'], runMs: 120_000, exitCode: 0 });
    const step = await new Job().run('gke-deploy', { inputs: inputs({ 'pre-deploy-timeout': '2s' }) });

    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain(
      'it was still running after 2s (DeadlineExceeded); the Job was stopped. Nothing was deployed',
    );
    expect(step.failure).toContain('Raise pre-deploy-timeout');
    expect(step.log).toContain('pre-deploy | waiting for the database lock');
    expect(deploymentWrites()).toEqual([]);
    expect(kube.list('jobs', NS)).toEqual([]);
  }, 60_000);

  it('fails at once, with the reason, when the pod never starts', async () => {
    await seedWeb(kube);
    kube.failImage(IMAGES.v2, 'ImagePullBackOff');
    const step = await new Job().run('gke-deploy', { inputs: inputs() });

    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain(`its pod never started: ImagePullBackOff (Back-off pulling image "${IMAGES.v2}")`);
    expect(step.failure).toContain('Check the image');
    expect(deploymentWrites()).toEqual([]);
    expect(kube.list('jobs', NS)).toEqual([]);
  }, 60_000);

  it('refuses a pre-deploy that is not a command before touching the cluster', async () => {
    const step = await new Job().run('gke-deploy', { inputs: inputs({ 'pre-deploy': '["python", 3]' }) });

    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain("Input 'pre-deploy' must be a non-empty JSON array of strings.");
    expect(kube.requests).toEqual([]);
  }, 30_000);
});
