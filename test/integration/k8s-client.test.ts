/**
 * The k8s client and rollout primitives against the stand-in API server
 * (test/support/kube-server.ts): authentication, errors, conflicts, patches, paging,
 * rollouts that succeed, fail and time out, revision history and rollback. Every object
 * written is checked against the official schemas; `server.problems` must stay empty.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isConflict, KubeClient, type KubeConnection } from '../../src/k8s/client.js';
import { loadKubeconfig } from '../../src/k8s/kubeconfig.js';
import { DEPLOYMENTS, HTTPROUTES, REPLICASETS, resource, SERVICES } from '../../src/k8s/resources.js';
import { previousRevision, revisions, rollbackTo, RolloutFailedError, waitForRollout } from '../../src/k8s/rollout.js';
import type { Deployment } from '../../src/k8s/types.js';
import { UserError } from '../../src/util/errors.js';
import { startKubeServer, type KubeServer } from '../support/kube-server.js';

let server: KubeServer;
const clients: KubeClient[] = [];
const NS = 'shop';

function client(connection?: KubeConnection): KubeClient {
  const c = new KubeClient(connection ?? loadKubeconfig({ path: server.kubeconfig() }), { attempts: 3 });
  clients.push(c);
  return c;
}

function deployment(name: string, image: string, replicas = 3, extra: Partial<Deployment['spec']> = {}): Deployment {
  return {
    metadata: { name, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image, ports: [{ containerPort: 8080 }] }] },
      },
      ...extra,
    },
  };
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

const wait = { timeoutMs: 20_000, initialDelayMs: 50, maxDelayMs: 200 };

beforeAll(async () => {
  server = await startKubeServer();
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  expect(server.problems).toEqual([]);
  server.reset();
});
afterAll(() => server.close());

describe('connecting', () => {
  it('authenticates with the kubeconfig token and trusts only the cluster CA', async () => {
    const kube = client();
    const created = await resource(kube, SERVICES, NS).create({
      metadata: { name: 'web' },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    expect(created.spec?.clusterIP).toMatch(/^10\.96\./);
    expect(server.requests.at(-1)?.query).toEqual({ fieldValidation: 'Strict' });

    const untrusted = client({ ...loadKubeconfig({ path: server.kubeconfig() }), ca: undefined });
    const err = await failure(resource(untrusted, SERVICES, NS).get('web'));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/presented a certificate we do not trust/);
  });

  it('authenticates with a client certificate', async () => {
    const kube = client(loadKubeconfig({ path: server.kubeconfig({ auth: 'client-certificate' }) }));
    expect(await resource(kube, SERVICES, NS).find('nothing')).toBeUndefined();
    expect(server.requests.at(-1)?.status).toBe(404);
  });

  it('runs an exec credential plugin with KUBERNETES_EXEC_INFO and keeps its token until it expires', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pa-exec-'));
    const plugin = join(dir, 'plugin.mjs');
    writeFileSync(
      plugin,
      `#!/usr/bin/env node\nimport { appendFileSync } from 'node:fs';\nappendFileSync(${JSON.stringify(join(dir, 'calls'))}, process.env.KUBERNETES_EXEC_INFO + '\\n');\n` +
        `console.log(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token: ${JSON.stringify(server.token)}, expirationTimestamp: new Date(Date.now() + 3600e3).toISOString() } }));\n`,
    );
    chmodSync(plugin, 0o755);
    const kube = client(loadKubeconfig({ path: server.kubeconfig({ auth: 'exec', exec: { command: plugin } }) }));
    await resource(kube, SERVICES, NS).list();
    await resource(kube, SERVICES, NS).list();
    const calls = readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n');
    expect(calls).toHaveLength(1);
    const info = JSON.parse(calls[0] as string) as {
      kind: string;
      spec: { interactive: boolean; cluster: { server: string } };
    };
    expect(info).toMatchObject({
      kind: 'ExecCredential',
      spec: { interactive: false, cluster: { server: server.url } },
    });
  });

  it('a missing exec plugin is explained with its install hint', async () => {
    const kube = client(
      loadKubeconfig({ path: server.kubeconfig({ auth: 'exec', exec: { command: 'no-such-plugin-here' } }) }),
    );
    const err = await failure(resource(kube, SERVICES, NS).list());
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/credential plugin no-such-plugin-here is not installed/);
  });

  it('GKE users get Google access tokens instead of running gke-gcloud-auth-plugin', async () => {
    const googleToken = 'ya29.stand-in-google-token';
    server.acceptToken((t) => t === googleToken);
    const path = server.kubeconfig({ auth: 'gke' });
    expect(() => loadKubeconfig({ path })).toThrow(/authenticates with Google credentials, and none are available/);
    const kube = client(loadKubeconfig({ path, googleToken: async () => googleToken }));
    expect(await resource(kube, DEPLOYMENTS, NS).list()).toEqual([]);
  });

  it('a refused token is a UserError that says tokens expire', async () => {
    const kube = client({
      ...loadKubeconfig({ path: server.kubeconfig() }),
      credentials: async () => ({ token: 'expired' }),
    });
    const err = await failure(resource(kube, DEPLOYMENTS, NS).get('web'));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/did not accept our credentials \(401/);
  });
});

describe('errors a user can fix', () => {
  it('RBAC refusals name the verb, the resource and the Role to grant', async () => {
    server.deny('patch', 'deployments');
    const err = (await failure(
      resource(client(), DEPLOYMENTS, NS).patch('web', { metadata: { labels: { a: 'b' } } }, 'merge'),
    )) as UserError;
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain(`cannot patch resource "deployments" in API group "apps" in the namespace "${NS}"`);
    expect(err.hint).toContain(`Grant "${server.user}" the verb patch on deployments.apps in namespace ${NS}`);
    expect(err.hint).toContain('resources: ["httproutes"]');
    expect(err.hint).toContain('roles/container.developer');
  });

  it('a missing object, namespace-qualified, and a resource type the cluster does not serve', async () => {
    const kube = client();
    const missing = await failure(resource(kube, DEPLOYMENTS, NS).get('web'));
    expect(missing.message).toBe(`Deployment ${NS}/web does not exist in ${kube.connection.description}.`);
    server.unserve('httproutes');
    const crd = (await failure(resource(kube, HTTPROUTES, NS).get('web'))) as UserError;
    expect(crd.message).toMatch(/does not serve httproutes\.gateway\.networking\.k8s\.io\/v1/);
    expect(crd.hint).toMatch(/--gateway-api=standard/);
  });

  it('an invalid object is rejected with the fields the server names', async () => {
    const bad = deployment('web', 'ghcr.io/acme/web:1');
    (bad.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels = {
      app: 'other',
    };
    const err = await failure(resource(client(), DEPLOYMENTS, NS).create(bad));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/spec\.template\.metadata\.labels.*`selector` does not match template `labels`/s);
  });
});

describe('writes', () => {
  it('update re-reads and redoes the change when another writer got there first', async () => {
    const kube = client();
    const api = resource(kube, SERVICES, NS);
    await api.create({ metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
    server.interfere('services', NS, 'web', 2);
    const result = await api.update('web', (s) => {
      s.spec = { ...s.spec, selector: { app: 'web', track: 'green' } };
      return s;
    });
    expect(result).toMatchObject({ changed: true, conflicts: 2 });
    const stored = server.get('services', NS, 'web');
    expect(stored?.spec.selector).toEqual({ app: 'web', track: 'green' });
    expect(stored?.metadata.annotations['test.platform-actions/other-writer']).toBe('1');
    expect(server.requestsOf('PUT', 'services').map((r) => r.status)).toEqual([409, 409, 200]);
  });

  it('replace with a stale resourceVersion is a Conflict; no change writes nothing', async () => {
    const kube = client();
    const api = resource(kube, SERVICES, NS);
    const created = await api.create({ metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] } });
    await api.patch('web', { metadata: { labels: { tier: 'edge' } } }, 'merge');
    const err = await failure(api.replace(created));
    expect(isConflict((err as { cause?: unknown }).cause ?? err)).toBe(true);
    expect(await api.update('web', () => undefined)).toMatchObject({ changed: false, conflicts: 0 });
    expect(server.requestsOf('PUT', 'services')).toHaveLength(1);
  });

  it('merge patch, JSON patch, server-side apply and dry runs', async () => {
    const api = resource(client(), DEPLOYMENTS, NS);
    const applied = await api.apply(deployment('web', 'ghcr.io/acme/web:1'));
    expect(applied.metadata?.generation).toBe(1);
    expect(server.requests.at(-1)).toMatchObject({
      method: 'PATCH',
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: 'platform-actions', force: 'true', fieldValidation: 'Strict' },
      status: 201,
    });
    const again = await api.apply(deployment('web', 'ghcr.io/acme/web:1'));
    expect(again.metadata?.generation).toBe(1);
    await api.patch(
      'web',
      [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'ghcr.io/acme/web:2' }],
      'json',
    );
    expect(server.get('deployments', NS, 'web')?.metadata.generation).toBe(2);
    await api.patch('web', { metadata: { annotations: { note: 'x' } } }, 'merge');
    expect(server.get('deployments', NS, 'web')?.metadata.generation).toBe(2);
    const dry = await api.patch('web', { spec: { replicas: 7 } }, 'merge', { dryRun: true });
    expect(dry.spec?.replicas).toBe(7);
    expect(server.get('deployments', NS, 'web')?.spec.replicas).toBe(3);
  });

  it('retries throttling and 5xx, but never re-sends a create the server may have done', async () => {
    const api = resource(client(), SERVICES, NS);
    server.fault('GET', 'services', 429);
    server.fault('GET', 'services', 503);
    expect(await api.find('web')).toBeUndefined();
    expect(server.requestsOf('GET', 'services').map((r) => r.status)).toEqual([429, 503, 404]);
    server.fault('POST', 'services', 503);
    const err = await failure(api.create({ metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] } }));
    expect(err.message).toMatch(/ServiceUnavailable/);
    expect(server.requestsOf('POST', 'services')).toHaveLength(1);
  });

  it('lists follow continue tokens; delete collects what a Deployment owns', async () => {
    const kube = client();
    for (const n of ['a', 'b', 'c', 'd', 'e'])
      server.seed('services', NS, { metadata: { name: n, labels: { team: 'x' } }, spec: { ports: [{ port: 80 }] } });
    server.pageSize = 2;
    const names = (await resource(kube, SERVICES, NS).list({ labelSelector: 'team=x' })).map((s) => s.metadata?.name);
    expect(names).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(server.requestsOf('GET', 'services')).toHaveLength(3);

    const api = resource(kube, DEPLOYMENTS, NS);
    await api.create(deployment('web', 'ghcr.io/acme/web:1', 1));
    await waitForRollout(kube, NS, 'web', wait);
    expect(server.list('replicasets', NS)).toHaveLength(1);
    expect(await api.delete('web')).toBe(true);
    expect(await api.delete('web')).toBe(false);
    expect(server.list('replicasets', NS)).toEqual([]);
    expect(server.list('pods', NS)).toEqual([]);
  });
});

describe('rollouts', () => {
  it('waits for a rollout, keeps its history and rolls back to the previous template', async () => {
    const kube = client();
    const api = resource(kube, DEPLOYMENTS, NS);
    await api.create(deployment('web', 'ghcr.io/acme/web:1'));
    const progress: string[] = [];
    const first = await waitForRollout(kube, NS, 'web', { ...wait, onProgress: (m) => progress.push(m) });
    expect(first.status).toMatchObject({ replicas: 3, updatedReplicas: 3, availableReplicas: 3 });
    expect(progress.at(-1)).toBe('3 of 3 replicas updated and available');

    await api.update('web', (d) => {
      (d.spec?.template.spec?.containers[0] as { image: string }).image = 'ghcr.io/acme/web:2';
      return d;
    });
    const second = await waitForRollout(kube, NS, 'web', wait);
    expect(second.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    const history = await revisions(kube, NS, second);
    expect(history.map((r) => [r.revision, r.images.app, r.replicas])).toEqual([
      [1, 'ghcr.io/acme/web:1', 0],
      [2, 'ghcr.io/acme/web:2', 3],
    ]);

    const previous = await previousRevision(kube, NS, second);
    expect(previous?.revision).toBe(1);
    await rollbackTo(kube, NS, 'web', previous as NonNullable<typeof previous>);
    const third = await waitForRollout(kube, NS, 'web', wait);
    expect(third.spec?.template.spec?.containers[0]?.image).toBe('ghcr.io/acme/web:1');
    const after = await revisions(kube, NS, third);
    // The old ReplicaSet is taken back and renumbered, as the real controller does.
    expect(after.map((r) => [r.revision, r.replicaSet === history[0]?.replicaSet])).toEqual([
      [2, false],
      [3, true],
    ]);
    expect(server.list('replicasets', NS)).toHaveLength(2);
    expect(resource(kube, REPLICASETS, NS).kind.plural).toBe('replicasets');
  });

  it.each([
    [
      'ImagePullBackOff',
      /ImagePullBackOff: Back-off pulling image "ghcr\.io\/acme\/web:broken"/,
      /Failed to pull image "ghcr\.io\/acme\/web:broken"/,
    ],
    [
      'CrashLoopBackOff',
      /CrashLoopBackOff: back-off 10s restarting failed container=app/,
      /last run ended Error \(exit code 1/,
    ],
  ] as const)('ProgressDeadlineExceeded fails at once with the %s reason', async (how, reason, detail) => {
    const kube = client();
    const api = resource(kube, DEPLOYMENTS, NS);
    await api.create(deployment('web', 'ghcr.io/acme/web:1', 2, { progressDeadlineSeconds: 1 }));
    await waitForRollout(kube, NS, 'web', wait);
    server.failImage('ghcr.io/acme/web:broken', how);
    await api.patch(
      'web',
      { spec: { template: { spec: { containers: [{ name: 'app', image: 'ghcr.io/acme/web:broken' }] } } } },
      'merge',
    );
    const err = await failure(waitForRollout(kube, NS, 'web', wait));
    expect(err).toBeInstanceOf(RolloutFailedError);
    expect((err as RolloutFailedError).reason).toBe('ProgressDeadlineExceeded');
    expect(err.message).toMatch(/has timed out progressing/);
    expect(err.message).toMatch(reason);
    expect(err.message).toMatch(detail);
    // The old pods kept serving.
    expect(server.get('deployments', NS, 'web')?.status.availableReplicas).toBe(2);
  });

  it('a wait that runs out of time says what it last saw and why', async () => {
    const kube = client();
    server.failImage('ghcr.io/acme/web:broken', 'ImagePullBackOff');
    await resource(kube, DEPLOYMENTS, NS).create(deployment('web', 'ghcr.io/acme/web:broken', 1));
    const err = await failure(waitForRollout(kube, NS, 'web', { ...wait, timeoutMs: 600 }));
    expect(err).toBeInstanceOf(RolloutFailedError);
    expect((err as RolloutFailedError).reason).toBe('Timeout');
    expect(err.message).toMatch(
      /Timed out after .* waiting for the rollout of Deployment shop\/web\. Last seen: 0 of 1 updated replicas available/,
    );
    expect(err.message).toMatch(/ImagePullBackOff/);
  });

  it('stops waiting when the job is cancelled', async () => {
    const kube = client();
    server.failImage('ghcr.io/acme/web:broken', 'ImagePullBackOff');
    await resource(kube, DEPLOYMENTS, NS).create(deployment('web', 'ghcr.io/acme/web:broken', 1));
    const abort = new AbortController();
    setTimeout(() => abort.abort(new Error('cancelled')), 200);
    const err = await failure(waitForRollout(kube, NS, 'web', { ...wait, signal: abort.signal }));
    expect(err.message).toBe('cancelled');
  });
});
