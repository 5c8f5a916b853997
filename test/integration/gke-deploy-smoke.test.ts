/**
 * gke-deploy's smoke checks on the new side, the bundle run as the runner runs it,
 * against the Kubernetes stand-in. A loopback app plays the Gateway's data plane: for
 * each request it reads the HTTPRoute from the stand-in, picks the rule as the Gateway
 * API orders them (longest matching path prefix, then the most header matches) and the
 * heaviest backendRef of it, and answers as that Service. The canary's Service can be
 * made to answer 500.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { IMAGES, NS, objectNames, routeWeights, seedWeb, webRoute } from '../support/gke-workload.js';
import { startKubeServer, type KubeServer, type Obj } from '../support/kube-server.js';
import { Job } from '../support/runner.js';

let kube: KubeServer;
let gateway: Server;
let gatewayUrl: string;
/** What the canary's and green's Services answer. */
let newSideStatus = 200;
const served: Array<{ service: string; path: string; header: string | undefined }> = [];

function pick(route: Obj, req: IncomingMessage): string | undefined {
  const path = (req.url ?? '/').split('?')[0] as string;
  let best: { prefix: number; headers: number; service: string } | undefined;
  for (const rule of route.spec.rules as Obj[]) {
    for (const m of (rule.matches as Obj[] | undefined) ?? [{}]) {
      const prefix = (m.path?.value as string | undefined) ?? '/';
      if (!path.startsWith(prefix)) continue;
      const headers = (m.headers as Obj[] | undefined) ?? [];
      if (!headers.every((h) => req.headers[String(h.name).toLowerCase()] === h.value)) continue;
      const refs = ((rule.backendRefs as Obj[] | undefined) ?? []).filter((r) => (r.weight ?? 1) > 0);
      const top = [...refs].sort((a, b) => (b.weight ?? 1) - (a.weight ?? 1))[0];
      if (!top) continue;
      if (!best || prefix.length > best.prefix || (prefix.length === best.prefix && headers.length > best.headers))
        best = { prefix: prefix.length, headers: headers.length, service: top.name };
    }
  }
  return best?.service;
}

/** Every write of the route, with its rules as sent. */
const routePuts = () =>
  kube
    .requestsOf('PUT', 'httproutes')
    .filter((r) => r.status === 200)
    .map((r) => (r.body as Obj).spec.rules as Obj[]);
const isSmoke = (rule: Obj) =>
  ((rule.matches as Obj[] | undefined) ?? []).some((m) =>
    ((m.headers as Obj[] | undefined) ?? []).some((h) => h.name === 'x-platform-actions-smoke'),
  );

/** The smoke checks, and a metric never asked here (step-duration 0s: no bakes). */
const SPEC = () => `
interval: 10s
provider: web
smoke:
  retries: 1
  retry-delay: 100ms
  checks:
    - { name: health, path: /health, json: { path: $.status, equals: ok } }
metrics:
  - name: errors
    query: |
      url: ${gatewayUrl}/errors
      value: $.value
    judge: { threshold: { max: 1% } }
`;

const inputs = (extra: Record<string, string> = {}) => ({
  kubeconfig: kube.kubeconfig(),
  namespace: NS,
  deployment: 'web',
  image: IMAGES.v2,
  strategy: 'canary',
  'http-route': 'web',
  steps: '50,100',
  'step-duration': '0s',
  analysis: SPEC(),
  'smoke-url': gatewayUrl,
  ...extra,
});

beforeAll(async () => {
  kube = await startKubeServer();
  gateway = createServer((req, res) => {
    const route = kube.get('httproutes', NS, 'web');
    const service = route ? pick(route, req) : undefined;
    served.push({
      service: service ?? 'none',
      path: req.url ?? '',
      header: req.headers['x-platform-actions-smoke'] as string | undefined,
    });
    const status = service === undefined ? 404 : service === 'web' ? 200 : newSideStatus;
    res
      .writeHead(status, { 'content-type': 'application/json' })
      .end(JSON.stringify({ status: status === 200 ? 'ok' : 'error', service, value: 0 }));
  });
  await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
  gatewayUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
}, 30_000);
afterAll(async () => {
  await kube.close();
  await new Promise((r) => gateway.close(r));
});
beforeEach(() => {
  kube.reset();
  served.length = 0;
});
afterEach(() => expect(kube.problems).toEqual([]));

describe('gke-deploy: smoke checks on the new side before any production traffic', () => {
  it("removes a canary that fails its smoke checks: the route's weights are never written, the smoke rule comes and goes", async () => {
    newSideStatus = 500;
    await seedWeb(kube, { route: true });
    const step = await new Job().run('gke-deploy', { inputs: inputs() });

    expect(step.outputs.status).toBe('rolled-back');
    expect(step.failure).toContain('smoke checks failed on the new side: health (HTTP 500, expected 200');
    // Two writes of the route: the smoke rule added, then removed; the traffic rules as seeded in both.
    const puts = routePuts();
    expect(puts).toHaveLength(2);
    const seeded = webRoute().spec.rules;
    for (const rules of puts) expect(rules.filter((r) => !isSmoke(r))).toEqual(seeded);
    expect(puts[0]?.filter(isSmoke)).toEqual([
      {
        matches: [
          { headers: [{ type: 'Exact', name: 'x-platform-actions-smoke', value: step.outputs['deployment-id'] }] },
        ],
        backendRefs: [{ kind: 'Service', name: 'web-canary', port: 80 }],
      },
    ]);
    expect(puts[1]?.filter(isSmoke)).toEqual([]);
    expect(served).toEqual([
      { service: 'web-canary', path: '/health', header: step.outputs['deployment-id'] },
      { service: 'web-canary', path: '/health', header: step.outputs['deployment-id'] },
    ]);
    expect(routeWeights(kube)).toEqual({ web: 1 });
    expect(objectNames(kube)).toEqual({ deployments: ['web'], services: ['status', 'web'] });
  }, 60_000);

  it('lets a canary that passes go on: the smoke rule is removed before the first weight', async () => {
    newSideStatus = 200;
    await seedWeb(kube, { route: true });
    const step = await new Job().run('gke-deploy', { inputs: inputs() });

    expect(step.failure).toBeUndefined();
    expect(step.outputs.status).toBe('succeeded');
    expect(step.log).toContain('smoke health: passed');
    const puts = routePuts();
    expect(puts.map((rules) => rules.some(isSmoke))).toEqual([true, false, false, false, false]);
    expect(
      puts
        .slice(1)
        .map((rules) => Object.fromEntries((rules[0]?.backendRefs as Obj[]).map((b) => [b.name, b.weight ?? 1]))),
    ).toEqual([{ web: 1 }, { web: 50, 'web-canary': 50 }, { web: 0, 'web-canary': 100 }, { web: 1 }]);
    expect(served).toEqual([{ service: 'web-canary', path: '/health', header: step.outputs['deployment-id'] }]);
  }, 60_000);

  it("checks blue-green's green side through the preview Service before the switch, and removes green when it fails", async () => {
    newSideStatus = 500;
    await seedWeb(kube, { route: true });
    const step = await new Job().run('gke-deploy', {
      inputs: inputs({ strategy: 'blue-green', steps: '', 'keep-previous': '0s' }),
    });

    expect(step.outputs.status).toBe('rolled-back');
    expect(step.failure).toContain('smoke checks failed on the new side: health (HTTP 500');
    const puts = routePuts();
    expect(puts.map((rules) => rules.filter(isSmoke).map((r) => (r.backendRefs as Obj[])[0]?.name))).toEqual([
      ['web-preview'],
      [],
    ]);
    for (const rules of puts) expect(rules.filter((r) => !isSmoke(r))).toEqual(webRoute().spec.rules);
    expect(served.map((x) => x.service)).toEqual(['web-preview', 'web-preview']);
    expect(objectNames(kube)).toEqual({ deployments: ['web'], services: ['status', 'web'] });
  }, 60_000);

  it('refuses smoke checks on a canary without http-route before changing anything', async () => {
    await seedWeb(kube);
    const step = await new Job().run('gke-deploy', { inputs: inputs({ 'http-route': '' }) });

    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain(
      'a canary without http-route shares the stable Service, so nothing reaches the canary alone. Nothing was changed.',
    );
    // Only the server's dry run of the new template (dryRun=All) reached the Deployments.
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'])
      expect(kube.requestsOf(method, 'deployments').filter((r) => r.query.dryRun !== 'All')).toEqual([]);
  }, 30_000);
});
