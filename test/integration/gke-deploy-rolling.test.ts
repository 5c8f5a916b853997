/**
 * gke-deploy's rolling engine and its input checks, the bundle run as the runner runs it,
 * against the Kubernetes stand-in (every object written checked against the official
 * schemas) and the GitHub stand-in for the Deployments record.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { useGkeLab } from '../support/gke-lab.js';
import {
  annotationsOf,
  IMAGES,
  imageOf,
  NS,
  objectNames,
  readyPods,
  routeWrites,
  seedWeb,
  webDeployment,
  webService,
} from '../support/gke-workload.js';
import { Job } from '../support/runner.js';

const gke = useGkeLab({ github: true });

const inputs = (extra: Record<string, string> = {}) => ({
  kubeconfig: gke.kubeconfig,
  namespace: NS,
  deployment: 'web',
  image: IMAGES.v2,
  analysis: 'none',
  ...extra,
});

describe('gke-deploy: rolling', () => {
  it('rolls out the new image, waits until every replica is updated and available, and records a GitHub Deployment', async () => {
    await seedWeb(gke.kube);
    const step = await new Job(gke.gh.env()).run('gke-deploy', {
      inputs: inputs({ environment: 'production', 'github-token': gke.gh.token, 'allow-tag': 'true' }),
    });

    expect(step.failure).toBeUndefined();
    expect(step.outputs).toMatchObject({
      status: 'succeeded',
      engine: 'gke-rolling',
      'previous-revision': '1',
      revision: '2',
      image: IMAGES.v2,
    });
    expect(imageOf(gke.kube)).toBe(IMAGES.v2);
    expect(readyPods(gke.kube, 'web')).toEqual([IMAGES.v2, IMAGES.v2, IMAGES.v2]);
    // The record is gone; the deployment id stays on the Deployment.
    expect(annotationsOf(gke.kube)).not.toHaveProperty('platform-actions/rollout');
    expect(annotationsOf(gke.kube)['platform-actions/deployment-id']).toBe(step.outputs['deployment-id']);
    expect(step.log).toContain(`container app: ${IMAGES.v1} → ${IMAGES.v2}`);
    expect(step.summary).toContain(`### ✅ ${NS}/web (GKE): succeeded`);

    const deployment = gke.gh.store
      .repo('acme', 'webapp')
      .deployments.get(Number(step.outputs['github-deployment-id']));
    expect(deployment?.payload).toMatchObject({
      tool: 'platform-actions',
      image: IMAGES.v2,
      service: 'web',
      platform: 'gke',
      engine: 'gke-rolling',
    });
    expect(deployment?.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
    // The kubeconfig's bearer token was masked before any request could carry it.
    expect(step.masked).toContain(gke.kube.token);
    expect(step.leaks([gke.kube.token])).toEqual([]);
  }, 60_000);

  it('refuses a tag-only image for a production environment before touching the cluster; a digest passes', async () => {
    await seedWeb(gke.kube);
    const before = gke.kube.requests.length;
    const step = await new Job(gke.gh.env()).run('gke-deploy', {
      inputs: inputs({ environment: 'live', 'github-token': gke.gh.token }),
    });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain(
      `live is a production environment, and this step would deploy an image by tag only (image: ${IMAGES.v2})`,
    );
    expect(imageOf(gke.kube)).toBe(IMAGES.v1);
    expect(gke.kube.requests.length).toBe(before);
    expect(gke.gh.store.repo('acme', 'webapp').deployments.size).toBe(0);

    const digest = `ghcr.io/acme/web@sha256:${'b'.repeat(64)}`;
    const pinned = await new Job(gke.gh.env()).run('gke-deploy', {
      inputs: inputs({ image: digest, environment: 'live', 'github-token': gke.gh.token }),
    });
    expect(pinned.failure).toBeUndefined();
    expect(imageOf(gke.kube)).toBe(digest);
  }, 60_000);

  it("rolls back to the previous ReplicaSet on ProgressDeadlineExceeded, with the pods' reason; the GitHub Deployment says failure (back on what ran before)", async () => {
    await seedWeb(gke.kube, { progressDeadlineSeconds: 2 });
    gke.kube.failImage(IMAGES.broken, 'ImagePullBackOff');
    const step = await new Job(gke.gh.env()).run('gke-deploy', {
      inputs: inputs({
        image: IMAGES.broken,
        environment: 'production',
        'github-token': gke.gh.token,
        'allow-tag': 'true',
      }),
    });

    expect(step.exitCode).toBe(1);
    expect(step.outputs.status).toBe('rolled-back');
    expect(step.failure).toMatch(
      /^The new version did not become healthy: The rollout of Deployment shop\/web failed: ReplicaSet "web-\w+" has timed out progressing\./,
    );
    expect(step.failure).toContain(`ImagePullBackOff: Back-off pulling image "${IMAGES.broken}"`);
    expect(step.failure).toMatch(/Rolled back to web-\w+; traffic restored/);
    // Back on the old template (revision renumbered by the undo), every pod the old image.
    expect(imageOf(gke.kube)).toBe(IMAGES.v1);
    expect(readyPods(gke.kube, 'web')).toEqual([IMAGES.v1, IMAGES.v1, IMAGES.v1]);
    expect(step.outputs.revision).toBe('3');
    expect(annotationsOf(gke.kube)).not.toHaveProperty('platform-actions/rollout');
    expect(step.summary).toContain('**Why the new version looked unhealthy**');
    expect(step.summary).toMatch(/Failed to pull image/);
    const report = JSON.parse(readFileSync(step.outputs['analysis-report'] as string, 'utf8'));
    expect(report.failure).toMatchObject({ trigger: 'unhealthy' });
    expect(report.failure.diagnosis.join('\n')).toContain('ImagePullBackOff');

    const deployment = gke.gh.store
      .repo('acme', 'webapp')
      .deployments.get(Number(step.outputs['github-deployment-id']));
    expect(deployment?.statuses.map((s) => s.state)).toEqual(['in_progress', 'failure']);
  }, 60_000);

  it('applies manifests with the image put in (a first deploy creates the Deployment), and a dry run changes nothing', async () => {
    const job = new Job();
    const manifest = webDeployment({ replicas: 2, image: 'ghcr.io/acme/web:placeholder' });
    manifest.spec.template.spec.initContainers = [
      { name: 'migrate', image: 'ghcr.io/acme/web:placeholder', command: ['migrate'] },
    ];
    writeFileSync(
      join(job.workspace, 'web.yaml'),
      [
        JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', ...manifest }),
        JSON.stringify({ apiVersion: 'v1', kind: 'Service', ...webService() }),
      ].join('\n---\n'),
    );

    const dry = await job.run('gke-deploy', {
      inputs: inputs({ manifests: 'web.yaml', strategy: 'canary', 'dry-run': 'true' }),
    });
    expect(dry.failure).toBeUndefined();
    expect(dry.summary).toContain('Dry run');
    expect(gke.kube.list('deployments', NS)).toEqual([]);
    expect(gke.kube.requests.filter((r) => r.method !== 'GET').every((r) => r.query.dryRun === 'All')).toBe(true);

    const step = await job.run('gke-deploy', { inputs: inputs({ manifests: 'web.yaml', strategy: 'canary' }) });
    expect(step.failure).toBeUndefined();
    expect(step.log).toContain('does not exist yet: the manifests create it with a plain rollout');
    expect(step.outputs).toMatchObject({
      status: 'succeeded',
      engine: 'gke-rolling',
      'previous-revision': '',
      revision: '1',
    });
    const d = gke.kube.get('deployments', NS, 'web');
    expect(d?.spec.template.spec.containers[0].image).toBe(IMAGES.v2);
    expect(d?.spec.template.spec.initContainers[0].image).toBe(IMAGES.v2);
    expect(gke.kube.get('services', NS, 'web')).toBeDefined();

    // The same manifests again, with only the Service changed: the Deployment is left alone, the Service goes in.
    const generation = d?.metadata.generation;
    const service = webService();
    service.metadata.annotations = { team: 'shop' };
    writeFileSync(
      join(job.workspace, 'web.yaml'),
      [
        JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', ...manifest }),
        JSON.stringify({ apiVersion: 'v1', kind: 'Service', ...service }),
      ].join('\n---\n'),
    );
    const again = await job.run('gke-deploy', { inputs: inputs({ manifests: 'web.yaml' }) });
    expect(again.failure).toBeUndefined();
    expect(again.outputs).toMatchObject({ status: 'succeeded', revision: '1', 'previous-revision': '1' });
    expect(again.log).toContain(`Nothing to roll out: Deployment ${NS}/web already runs ${IMAGES.v2} (revision 1)`);
    expect(again.log).toContain('Applied 1 other object(s) from the manifests: Service web.');
    expect(gke.kube.get('services', NS, 'web')?.metadata.annotations).toMatchObject({ team: 'shop' });
    expect(gke.kube.get('deployments', NS, 'web')?.metadata.generation).toBe(generation);
  }, 60_000);

  it('leaves a Deployment that already runs the image alone, records that as an unchanged deployment, and rolls it out again only with force', async () => {
    await seedWeb(gke.kube, { route: true });
    const same = inputs({
      image: IMAGES.v1,
      strategy: 'canary',
      'http-route': 'web',
      steps: '50,100',
      'step-duration': '1s',
      environment: 'production',
      'github-token': gke.gh.token,
      'allow-tag': 'true',
    });

    const dry = await new Job(gke.gh.env()).run('gke-deploy', { inputs: { ...same, 'dry-run': 'true' } });
    expect(dry.summary).toContain(
      '| **Would change** | nothing in the Deployment: it would be left alone (`force: true` rolls it out anyway) |',
    );

    const before = gke.kube.requests.length;
    const step = await new Job(gke.gh.env()).run('gke-deploy', { inputs: same });
    expect(step.failure).toBeUndefined();
    expect(step.outputs).toMatchObject({
      status: 'succeeded',
      engine: 'gke-canary',
      revision: '1',
      'previous-revision': '1',
      'deployment-id': '',
      'duration-seconds': '0',
    });
    expect(step.log).toContain(
      `Nothing to roll out: Deployment ${NS}/web already runs ${IMAGES.v1} (revision 1), and the server's dry run changes nothing in it. Set force: true to roll it out again.`,
    );
    // Only reads and the server's dry runs: no canary, no route write, no annotation.
    expect(gke.kube.requests.slice(before).filter((r) => r.method !== 'GET' && r.query.dryRun !== 'All')).toEqual([]);
    expect(objectNames(gke.kube).deployments).toEqual(['web']);
    expect(step.summary).toContain(`### ✅ ${NS}/web (GKE): unchanged`);
    const recorded = gke.gh.store.repo('acme', 'webapp').deployments.get(Number(step.outputs['github-deployment-id']));
    expect(recorded?.payload).toMatchObject({
      service: 'web',
      platform: 'gke',
      engine: 'gke-canary',
      image: IMAGES.v1,
      unchanged: true,
    });
    expect(recorded?.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);

    const forced = await new Job().run('gke-deploy', {
      inputs: { ...same, environment: '', 'github-token': '', force: 'true' },
    });
    expect(forced.failure).toBeUndefined();
    expect(forced.outputs).toMatchObject({ status: 'succeeded', engine: 'gke-canary' });
    expect(routeWrites(gke.kube)).toEqual([{ web: 50, 'web-canary': 50 }, { web: 0, 'web-canary': 100 }, { web: 1 }]);
    expect(imageOf(gke.kube)).toBe(IMAGES.v1);
  }, 60_000);

  it.each([
    [{ deployment: '' }, /^Input 'deployment' is required but was empty\./],
    [{ image: 'ghcr.io/acme/Web:1' }, /^Input 'image' 'ghcr.io\/acme\/Web:1' is not a valid image reference/],
    [{ strategy: 'linear' }, /^Input 'strategy' must be one of 'rolling', 'canary', 'blue-green', not 'linear'\./],
    [{ strategy: 'canary', steps: '50,10,100' }, /^Input 'steps' \(50,10,100\) is not increasing/],
    [{ 'http-route': 'web' }, /^http-route is set, but a rolling update does not move traffic/],
    [{ cluster: 'shop', location: 'europe-west1', 'project-id': 'acme-prod' }, /^Both kubeconfig and a GKE cluster/],
    [{ namespace: 'Shop' }, /^Input 'namespace' is 'Shop', which is not a valid namespace name\./],
    [{ environment: 'production' }, /^environment is set but github-token is empty/],
    [{ 'keep-previous': 'soon' }, /^Input 'keep-previous'/],
  ])(
    'refuses bad input %j before touching the cluster',
    async (bad, message) => {
      const step = await new Job().run('gke-deploy', { inputs: inputs(bad as Record<string, string>) });
      expect(step.exitCode).toBe(1);
      expect(step.failure).toMatch(message);
      expect(gke.kube.requests).toEqual([]);
    },
    30_000,
  );

  it('refuses what only the cluster can tell before any change: a missing container, a template the server rejects', async () => {
    await seedWeb(gke.kube);
    gke.kube.requests.length = 0;
    const missing = await new Job().run('gke-deploy', { inputs: inputs({ 'container-name': 'sidecar' }) });
    expect(missing.failure).toMatch(/^Deployment shop\/web has no container named sidecar\.\nIts containers: app\./);
    const job = new Job();
    writeFileSync(
      join(job.workspace, 'bad.yaml'),
      JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        ...webDeployment(),
        spec: { ...webDeployment().spec, replicas: 'three' },
      }),
    );
    const invalid = await job.run('gke-deploy', { inputs: inputs({ manifests: 'bad.yaml' }) });
    expect(invalid.failure).toMatch(/^Kubernetes rejected Deployment shop\/web/);
    expect(gke.kube.requests.filter((r) => r.method !== 'GET' && r.query.dryRun !== 'All')).toEqual([]);
    expect(imageOf(gke.kube)).toBe(IMAGES.v1);
    // The one problem is the invalid manifest, refused by the stand-in's schema check as a real server would.
    expect(gke.kube.problems).toEqual([
      expect.stringMatching(/^PATCH wrote an invalid Deployment shop\/web: .*replicas/),
    ]);
    gke.kube.problems.length = 0;
  }, 30_000);
});
