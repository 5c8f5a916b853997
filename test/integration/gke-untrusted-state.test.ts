/**
 * GKE under the faults issue 12 names, through the bundles, against the Kubernetes
 * stand-in: a forged or garbled rollout state on the Deployment refused before any change
 * by gke-deploy and by the rollback action; an HPA that scales the stable Deployment during
 * a canary keeps its count through promotion and through a rollback; and `to: previous`
 * after a rolled-back release returns to the last version that completed a rollout.
 */
import { describe, expect, it } from '@jest/globals';
import { useGkeLab } from '../support/gke-lab.js';
import {
  annotationsOf,
  IMAGES,
  imageOf,
  NS,
  readyPods,
  routeWeights,
  seedWeb,
  settled,
  webDeployment,
  webRoute,
  webService,
} from '../support/gke-workload.js';
import { type Obj } from '../support/kube-server.js';

const gke = useGkeLab();

const job = (runId = '4242') => gke.job(runId);
const deploy = (extra: Record<string, string> = {}) => ({
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
const writes = () => gke.kube.requests.filter((r) => r.method !== 'GET');
const V3 = 'ghcr.io/acme/web:3.0.0';

/** web (with these annotations), its Service and route, and another team's Deployment `payments` beside it. */
async function seedWithState(annotations: Record<string, string>, extra: Obj[] = []): Promise<void> {
  const web = webDeployment();
  web.metadata.annotations = annotations;
  gke.kube.seed('deployments', NS, web);
  gke.kube.seed('services', NS, webService());
  gke.kube.seed('services', NS, {
    metadata: { name: 'status' },
    spec: { selector: { app: 'status' }, ports: [{ port: 80 }] },
  });
  gke.kube.seed('httproutes', NS, webRoute());
  gke.kube.seed('deployments', NS, {
    metadata: { name: 'payments', labels: { app: 'payments' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'payments' } },
      template: {
        metadata: { labels: { app: 'payments' } },
        spec: { containers: [{ name: 'app', image: 'ghcr.io/acme/payments:7' }] },
      },
    },
  });
  for (const o of extra) gke.kube.seed('deployments', NS, o);
  await Promise.all([settled(gke.kube, 'web'), settled(gke.kube, 'payments')]);
  gke.kube.requests.length = 0;
}

const at = Math.floor(Date.now() / 1000);
const layout = (side: string) =>
  JSON.stringify({
    v: 1,
    mode: 'route',
    service: 'web',
    route: 'web',
    stableWeight: 1,
    replicas: 3,
    side,
    sideService: 'web-canary',
  });

describe('GKE: a rollout state that does not match the live objects is refused before any change', () => {
  it('a promoting record whose canary is another Deployment: neither gke-deploy nor the rollback action takes its template or deletes it', async () => {
    await seedWithState({
      'platform-actions/rollout': `v1 id=9999.1-forged e=gke-canary p=promoting s= c=payments w=100 i=2 t=${at}`,
      'platform-actions/traffic': layout('payments'),
    });

    const d = await job().run('gke-deploy', { inputs: deploy({ strategy: 'canary', 'http-route': 'web' }) });
    expect(d.failure).toMatch(
      /^The rollout state on Deployment shop\/web does not match the live objects, so gke-deploy acted on none of it and changed nothing:/,
    );
    expect(d.failure).toContain(
      'the canary side is Deployment payments; for web platform-actions only ever makes web-canary',
    );
    expect(d.log).toContain(
      `kubectl annotate deployment web -n ${NS} platform-actions/rollout- platform-actions/traffic- platform-actions/blue-green-`,
    );
    expect(d.log).not.toMatch(/run the rollback action/i);

    const r = await job('4243').run('rollback', { inputs: rollback() });
    expect(r.failure).toMatch(/so the rollback action acted on none of it and changed nothing/);
    expect(r.failure).toContain('Deployment payments');
    expect(r.log).not.toMatch(/run the rollback action/i);

    expect(writes()).toEqual([]);
    expect(gke.kube.get('deployments', NS, 'payments')).toBeDefined();
    expect(imageOf(gke.kube)).toBe(IMAGES.v1);
    expect(routeWeights(gke.kube)).toEqual({ web: 1 });
  }, 60_000);

  it('a side or a stable ReplicaSet in another namespace, or a ReplicaSet of another Deployment, is refused', async () => {
    await seedWithState({
      'platform-actions/rollout': `v1 id=9999.2-forged e=gke-canary p=shifting s= c=prod/web-canary w=50 i=1 t=${at}`,
    });
    const r = await job().run('rollback', { inputs: rollback() });
    expect(r.failure).toContain('the canary side is "prod/web-canary", which names another namespace');
    const d = await job().run('gke-deploy', { inputs: deploy() });
    expect(d.failure).toContain('which names another namespace');
    expect(writes()).toEqual([]);

    const paymentsSet = gke.kube.list('replicasets', NS).find((rs) => rs.metadata.name.startsWith('payments-'))
      ?.metadata.name as string;
    const annotations = {
      'platform-actions/rollout': `v1 id=9999.3-forged e=gke-rolling p=rolling-back s=${paymentsSet} c= w=100 i=0 t=${at}`,
    };
    gke.kube.reset();
    await seedWithState(annotations);
    const forgedSet = gke.kube.list('replicasets', NS).find((rs) => rs.metadata.name.startsWith('payments-'))?.metadata
      .name as string;
    // The stand-in names ReplicaSets by hash: the same template, the same name.
    expect(forgedSet).toBe(paymentsSet);
    const back = await job().run('rollback', { inputs: rollback() });
    expect(back.failure).toContain(
      `the record's stable side is ReplicaSet ${paymentsSet}, which belongs to Deployment payments, not to Deployment web`,
    );
    expect(writes()).toEqual([]);
    expect(imageOf(gke.kube)).toBe(IMAGES.v1);
  }, 60_000);

  it('a garbled record beside an orphaned canary is reported with how to clear it, and not acted on', async () => {
    const orphan = webDeployment({ replicas: 1, image: IMAGES.v2 });
    orphan.metadata = {
      name: 'web-canary',
      labels: { 'platform-actions/rollout-of': 'web', 'platform-actions/track': 'canary' },
      annotations: { 'platform-actions/deployment-id': '4100.1-abc' },
    };
    orphan.spec.selector.matchLabels['platform-actions/track'] = 'canary';
    orphan.spec.template.metadata.labels['platform-actions/track'] = 'canary';
    await seedWithState({ 'platform-actions/rollout': 'v1 id=4100.1-abc e=gke-canary p=shif' }, [orphan]);

    const d = await job().run('gke-deploy', { inputs: deploy({ strategy: 'canary', 'http-route': 'web' }) });
    expect(d.failure).toContain(
      'annotation platform-actions/rollout cannot be parsed as a rollout record: "v1 id=4100.1-abc e=gke-canary p=shif"',
    );
    expect(d.log).toContain(`kubectl delete deployment web-canary web-green -n ${NS} --ignore-not-found`);
    const r = await job('4243').run('rollback', { inputs: rollback() });
    expect(r.failure).toContain('cannot be parsed as a rollout record');
    expect(r.log).not.toMatch(/run the rollback action/i);
    expect(writes()).toEqual([]);
    expect(gke.kube.get('deployments', NS, 'web-canary')).toBeDefined();
  }, 60_000);
});

describe('GKE: a HorizontalPodAutoscaler that scales the stable Deployment during a canary', () => {
  const hpa = {
    metadata: { name: 'web' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      minReplicas: 2,
      maxReplicas: 10,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } },
      ],
    },
  };

  it('promotion keeps the count the HPA set (not the 3 from before the rollout), and the canary grew to it', async () => {
    await seedWeb(gke.kube, { route: true });
    gke.kube.seed('horizontalpodautoscalers', NS, hpa);
    const running = job().start('gke-deploy', {
      inputs: deploy({ strategy: 'canary', 'http-route': 'web', steps: '10:1s,50:3s,100:1s' }),
    });
    await running.waitForLog(/^Step 1\/3: 10% on the new version/, 30_000);
    gke.kube.autoscale(NS, 'web', 5);
    const step = await running.done;
    expect(step.failure).toBeUndefined();
    expect(step.outputs.status).toBe('succeeded');
    expect(step.log).toContain('HorizontalPodAutoscaler web scales Deployment shop/web (2–10 replicas)');
    expect(step.log).toMatch(
      /HorizontalPodAutoscaler web scales Deployment shop\/web: it keeps 5 replicas \(the 5 the HPA set\), not the 3 from before the rollout/,
    );
    const canaryScales = gke.kube
      .requestsOf('PUT', 'deployments')
      .filter((r) => r.path.endsWith('/web-canary'))
      .map((r) => (r.body as Obj).spec.replicas);
    expect(canaryScales.at(-1)).toBe(5);
    expect((gke.kube.get('deployments', NS, 'web') as Obj).spec.replicas).toBe(5);
    expect(readyPods(gke.kube, 'web')).toEqual(Array(5).fill(IMAGES.v2));
  }, 60_000);

  it('a rollback of a promotion under way keeps the count the HPA set', async () => {
    await seedWeb(gke.kube, { route: true });
    gke.kube.seed('horizontalpodautoscalers', NS, hpa);
    const running = job().start('gke-deploy', {
      inputs: deploy({ strategy: 'canary', 'http-route': 'web', steps: '10:1s,100:1s' }),
    });
    await running.waitForLog(/^Step 1\/2: 10% on the new version/, 30_000);
    gke.kube.autoscale(NS, 'web', 6);
    await running.waitForLog(/takes the new pod template; waiting until all 6 replicas run it/, 30_000);
    running.kill('SIGKILL');
    await running.done;
    expect(annotationsOf(gke.kube)['platform-actions/rollout']).toMatch(/ p=promoting /);

    const r = await job('4243').run('rollback', { inputs: rollback() });
    expect(r.failure).toBeUndefined();
    expect(r.outputs.status).toBe('rolled-back');
    expect(r.log).toContain('HorizontalPodAutoscaler web scales Deployment shop/web: its 6 replicas stay.');
    await settled(gke.kube, 'web');
    expect((gke.kube.get('deployments', NS, 'web') as Obj).spec.replicas).toBe(6);
    expect(imageOf(gke.kube)).toBe(IMAGES.v1);
    expect(readyPods(gke.kube, 'web')).toEqual(Array(6).fill(IMAGES.v1));
    expect(routeWeights(gke.kube)).toEqual({ web: 1 });
  }, 60_000);

  it('a canary without an http-route is refused up front: its replica ratio would fight the HPA', async () => {
    await seedWeb(gke.kube);
    gke.kube.seed('horizontalpodautoscalers', NS, hpa);
    gke.kube.requests.length = 0;
    const step = await job().run('gke-deploy', { inputs: deploy({ strategy: 'canary' }) });
    expect(step.failure).toMatch(
      /^HorizontalPodAutoscaler web scales Deployment shop\/web, and a canary without an http-route splits traffic by setting web's replica count/,
    );
    // Only the server's dry run of the new template, which stores nothing.
    expect(writes().filter((r) => r.query.dryRun !== 'All')).toEqual([]);
  }, 30_000);
});

describe('GKE: last known good', () => {
  it('to: previous after a rolled-back release returns to the last version that completed a rollout; a rolled-back one needs allow-any-revision', async () => {
    await seedWeb(gke.kube, { progressDeadlineSeconds: 2 });
    gke.kube.failImage(IMAGES.broken, 'ImagePullBackOff');
    expect((await job().run('gke-deploy', { inputs: deploy({ image: IMAGES.v2 }) })).outputs.status).toBe('succeeded');
    expect((await job().run('gke-deploy', { inputs: deploy({ image: V3 }) })).outputs.status).toBe('succeeded');
    const broken = await job().run('gke-deploy', { inputs: deploy({ image: IMAGES.broken }) });
    expect(broken.outputs.status).toBe('rolled-back');
    // Revisions: 1 v1, 2 v2, 4 broken, 5 v3 (moved up by the rollback). "The one before" is the broken one.
    expect(imageOf(gke.kube)).toBe(V3);
    expect(JSON.parse(annotationsOf(gke.kube)['platform-actions/revisions'] as string)).toMatchObject({
      good: [expect.any(String), expect.any(String)],
      bad: [expect.any(String)],
    });

    const back = await job('4243').run('rollback', { inputs: rollback() });
    expect(back.failure).toBeUndefined();
    expect(back.log).toMatch(
      /Previous: revision 2 \(ReplicaSet web-\w+\) is the last other version that completed a rollout\./,
    );
    expect(imageOf(gke.kube)).toBe(IMAGES.v2);

    // A second `previous` does not bounce back to v3, which was just rolled back.
    const again = await job('4244').run('rollback', { inputs: rollback() });
    expect(again.failure).toBeUndefined();
    expect(imageOf(gke.kube)).toBe(IMAGES.v1);
    expect(again.log).toMatch(/Previous: no other revision is recorded as having completed a rollout/);

    const v3Revision = Number(
      gke.kube.list('replicasets', NS).find((rs) => rs.spec.template.spec.containers[0].image === V3)?.metadata
        .annotations['deployment.kubernetes.io/revision'],
    );
    const refused = await job('4245').run('rollback', { inputs: rollback({ to: String(v3Revision) }) });
    expect(refused.failure).toMatch(
      new RegExp(
        `^Revision ${v3Revision} of Deployment shop/web \\(${V3.replace(/\./g, '\\.')}\\) was rolled back, so it is not returned to without allow-any-revision: true\\.`,
      ),
    );
    expect(imageOf(gke.kube)).toBe(IMAGES.v1);
    const forced = await job('4246').run('rollback', {
      inputs: rollback({ to: String(v3Revision), 'allow-any-revision': 'true' }),
    });
    expect(forced.outputs.status).toBe('rolled-back');
    expect(imageOf(gke.kube)).toBe(V3);
  }, 120_000);
});
