import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeApiError } from '../../../src/k8s/client.js';
import { explainKubeError } from '../../../src/k8s/errors.js';
import { hasWeights, readWeights, routeAcceptance, withWeights } from '../../../src/k8s/http-route.js';
import { loadKubeconfig } from '../../../src/k8s/kubeconfig.js';
import { DEPLOYMENTS, HTTPROUTES } from '../../../src/k8s/resources.js';
import { rolloutProgress, selectorString, targetContainer, templateForDeployment } from '../../../src/k8s/rollout.js';
import type { Deployment, HTTPRoute } from '../../../src/k8s/types.js';
import { UserError } from '../../../src/util/errors.js';

describe('rolloutProgress (the rules of kubectl rollout status)', () => {
  const d = (
    status: Deployment['status'],
    generation = 2,
    spec: Partial<NonNullable<Deployment['spec']>> = {},
  ): Deployment => ({
    metadata: { name: 'web', generation },
    spec: { replicas: 3, selector: {}, template: {}, ...spec },
    status,
  });
  it.each([
    ['progressing', 'waiting for the controller to see generation 2 (it has seen 1)', d({ observedGeneration: 1 })],
    ['progressing', '1 of 3 replicas updated', d({ observedGeneration: 2, updatedReplicas: 1, replicas: 4 })],
    [
      'progressing',
      '1 old replicas still terminating',
      d({ observedGeneration: 2, updatedReplicas: 3, replicas: 4, availableReplicas: 3 }),
    ],
    [
      'progressing',
      '2 of 3 updated replicas available',
      d({ observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 2 }),
    ],
    [
      'done',
      '3 of 3 replicas updated and available',
      d({ observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 3 }),
    ],
    ['progressing', 'the Deployment is paused', d({ observedGeneration: 2 }, 2, { paused: true })],
  ] as const)('%s: %s', (state, message, deployment) => {
    expect(rolloutProgress(deployment)).toEqual({ state, message });
  });

  it('ProgressDeadlineExceeded is a failure with the condition message', () => {
    const p = rolloutProgress(
      d({
        observedGeneration: 2,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "web-abc" has timed out progressing.',
          },
        ],
      }),
    );
    expect(p).toEqual({
      state: 'failed',
      reason: 'ProgressDeadlineExceeded',
      message: 'ReplicaSet "web-abc" has timed out progressing.',
    });
  });
});

describe('rollout helpers', () => {
  it('selectors in the query syntax, templates without the hash label, the target container', () => {
    expect(
      selectorString({
        matchLabels: { app: 'web' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['a', 'b'] },
          { key: 'x', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('app=web,tier in (a,b),!x');
    expect(
      templateForDeployment({ metadata: { labels: { app: 'web', 'pod-template-hash': 'abc' } } }).metadata?.labels,
    ).toEqual({ app: 'web' });
    const t = { spec: { containers: [{ name: 'app' }, { name: 'proxy' }] } };
    expect(targetContainer(t, 'proxy', 'Deployment web').name).toBe('proxy');
    expect(() => targetContainer(t, undefined, 'Deployment web')).toThrow(
      'Deployment web has 2 containers, so it is not clear which one gets the image.',
    );
    expect(() => targetContainer(t, 'nginx', 'Deployment web')).toThrow('Deployment web has no container named nginx.');
  });
});

describe('HTTPRoute weights', () => {
  const route: HTTPRoute = {
    metadata: { name: 'r', namespace: 'shop', generation: 4 },
    spec: {
      parentRefs: [{ name: 'gw' }],
      rules: [
        {
          backendRefs: [
            { name: 'web', port: 80 },
            { name: 'web', namespace: 'other', port: 80, weight: 3 },
            { group: 'example.com', kind: 'Bucket', name: 'web', weight: 2 },
          ],
        },
        { backendRefs: [{ name: 'api', port: 80 }] },
        { backendRefs: [{ name: 'web-canary', port: 81, weight: 0 }] },
      ],
    },
  };
  it('reads only refs to our Services in the route namespace (weight defaults to 1)', () => {
    expect(readWeights(route, ['web', 'web-canary'])).toEqual([
      { rule: 0, weights: { web: 1 }, others: 5 },
      { rule: 2, weights: { 'web-canary': 0 }, others: 0 },
    ]);
  });
  it('sets weights in every rule of ours, adds missing refs with the port of ours, removes with null, copies nothing else', () => {
    const next = withWeights(route, { web: 80, 'web-canary': 20 });
    expect(next.spec?.rules?.[0]?.backendRefs).toEqual([
      { name: 'web', port: 80, weight: 80 },
      { name: 'web', namespace: 'other', port: 80, weight: 3 },
      { group: 'example.com', kind: 'Bucket', name: 'web', weight: 2 },
      { kind: 'Service', name: 'web-canary', port: 80, weight: 20 },
    ]);
    expect(next.spec?.rules?.[1]).toEqual(route.spec?.rules?.[1]);
    expect(next.spec?.rules?.[2]?.backendRefs).toEqual([
      { name: 'web-canary', port: 81, weight: 20 },
      { kind: 'Service', name: 'web', port: 81, weight: 80 },
    ]);
    expect(hasWeights(next, { web: 80, 'web-canary': 20 })).toBe(true);
    expect(hasWeights(route, { web: 80, 'web-canary': 20 })).toBe(false);
    const promoted = withWeights(next, { web: 100, 'web-canary': null });
    expect(promoted.spec?.rules?.[0]?.backendRefs?.map((r) => r.name)).toEqual(['web', 'web', 'web']);
    expect(hasWeights(promoted, { web: 100, 'web-canary': null })).toBe(true);
    expect(route.spec?.rules?.[0]?.backendRefs?.[0]?.weight).toBeUndefined();
  });
  it('refuses a route with no rule of ours', () => {
    expect(() => withWeights(route, { shop: 1 })).toThrow(UserError);
  });
  it('acceptance needs Accepted and ResolvedRefs True at the current generation from every parent', () => {
    const cond = (type: string, status: 'True' | 'False', observedGeneration: number, reason = type) => ({
      type,
      status,
      reason,
      message: 'm',
      observedGeneration,
      lastTransitionTime: '2026-01-01T00:00:00Z',
    });
    const withStatus = (conditions: ReturnType<typeof cond>[]): HTTPRoute => ({
      ...route,
      status: { parents: [{ parentRef: { name: 'gw' }, controllerName: 'x/y', conditions }] },
    });
    expect(routeAcceptance(route)).toEqual({ accepted: false, status: 'no Gateway has reported on the route yet' });
    expect(routeAcceptance(withStatus([cond('Accepted', 'True', 3), cond('ResolvedRefs', 'True', 3)])).status).toBe(
      'Gateway gw has not reported Accepted for generation 4 yet',
    );
    expect(
      routeAcceptance(withStatus([cond('Accepted', 'True', 4), cond('ResolvedRefs', 'False', 4, 'BackendNotFound')]))
        .problem,
    ).toBe('Gateway gw reports ResolvedRefs=False (BackendNotFound: m)');
    expect(routeAcceptance(withStatus([cond('Accepted', 'True', 4), cond('ResolvedRefs', 'True', 4)]))).toEqual({
      accepted: true,
      status: 'accepted by 1 Gateway at generation 4',
    });
    expect(routeAcceptance({ ...route, spec: { rules: [] } }).problem).toBe(
      'it has no parentRefs, so no Gateway serves it',
    );
  });
});

describe('kubeconfig', () => {
  function write(text: string, name = 'config'): string {
    const dir = mkdtempSync(join(tmpdir(), 'pa-kubeconfig-'));
    mkdirSync(join(dir, 'certs'));
    writeFileSync(join(dir, 'certs', 'ca.pem'), 'CA PEM');
    writeFileSync(join(dir, 'token'), 'file-token\n');
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  }
  const base = (user: string, extra = '') =>
    `apiVersion: v1\nkind: Config\ncurrent-context: prod\ncontexts:\n- name: prod\n  context: { cluster: c1, user: u1, namespace: shop }\n- name: dev\n  context: { cluster: c1, user: u1 }\nclusters:\n- name: c1\n  cluster: { server: "https://10.0.0.1", certificate-authority: certs/ca.pem${extra} }\nusers:\n- name: u1\n  user: ${user}\n`;

  it('current context, CA and token file relative to the kubeconfig, namespace', async () => {
    const path = write(base('{ tokenFile: token }'));
    const c = loadKubeconfig({ path });
    expect(c).toMatchObject({
      server: 'https://10.0.0.1',
      ca: 'CA PEM',
      namespace: 'shop',
      description: `kubeconfig ${path} (context prod)`,
    });
    expect(await c.credentials()).toEqual({ token: 'file-token' });
    expect(loadKubeconfig({ path, context: 'dev' }).namespace).toBeUndefined();
  });

  it('KUBECONFIG lists are merged, the first file winning', async () => {
    const first = write('apiVersion: v1\nkind: Config\nusers:\n- name: u1\n  user: { token: from-first }\n');
    const second = write(base('{ token: from-second }'));
    const c = loadKubeconfig({ env: { KUBECONFIG: `${first}:${second}` } });
    expect(await c.credentials()).toEqual({ token: 'from-first' });
  });

  it.each([
    ['{ username: admin, password: x }', /Kubernetes removed basic authentication/],
    ['{ auth-provider: { name: azure } }', /uses the azure auth-provider, which platform-actions does not support/],
    ['{ client-certificate-data: Y2VydA== }', /has a client certificate but no client key/],
    ['{}', /has no credentials we can use/],
  ])('user %s is refused with what to use instead', (user, message) => {
    expect(() => loadKubeconfig({ path: write(base(user)) })).toThrow(message);
  });

  it('missing files, contexts and proxies are explained', () => {
    expect(() => loadKubeconfig({ path: '/nonexistent/config' })).toThrow(
      /There is no kubeconfig at \/nonexistent\/config/,
    );
    expect(() => loadKubeconfig({ path: write(base('{ token: t }')), context: 'staging' })).toThrow(
      /has no context named staging.*\n?/,
    );
    expect(() => loadKubeconfig({ path: write(base('{ token: t }', ', proxy-url: "http://proxy:3128"')) })).toThrow(
      /uses proxy-url/,
    );
  });
});

describe('explainKubeError', () => {
  const op = { verb: 'get' as const, kind: DEPLOYMENTS, namespace: 'shop', name: 'web', cluster: 'GKE cluster p/l/c' };
  const err = (code: number, reason: string, message: string, details?: object) =>
    new KubeApiError('GET', '/x', code, { kind: 'Status', reason, message, code, details });
  it('maps statuses to what to do', () => {
    expect(
      (
        explainKubeError(
          err(404, 'NotFound', 'namespaces "shop" not found', { name: 'shop', kind: 'namespaces' }),
          op,
        ) as Error
      ).message,
    ).toBe('Namespace shop does not exist in GKE cluster p/l/c.');
    expect(
      (
        explainKubeError(err(404, 'NotFound', 'the server could not find the requested resource'), {
          ...op,
          kind: HTTPROUTES,
        }) as UserError
      ).hint,
    ).toMatch(/Gateway API CRDs/);
    expect((explainKubeError(err(409, 'AlreadyExists', 'x'), op) as Error).message).toBe(
      'Deployment shop/web already exists.',
    );
    expect(
      (
        explainKubeError(
          err(422, 'Invalid', 'bad', { causes: [{ field: 'spec.replicas', message: 'must be >= 0' }] }),
          op,
        ) as Error
      ).message,
    ).toBe('Kubernetes rejected Deployment shop/web (Invalid): bad\n  spec.replicas: must be >= 0');
    const conflict = err(409, 'Conflict', 'modified');
    expect(explainKubeError(conflict, op)).toBe(conflict);
    expect(explainKubeError(err(500, 'InternalError', 'x'), op)).toBeInstanceOf(KubeApiError);
  });
});
