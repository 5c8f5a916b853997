/**
 * HTTPRoute weights and manifests against the stand-in API server: only our backendRefs
 * change, the Gateway's acceptance is waited for, refusals and foreign edits are caught;
 * manifests are read, get the image and are applied in order with server-side apply.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../../src/k8s/client.js';
import { readWeights, setRouteWeights } from '../../src/k8s/http-route.js';
import { loadKubeconfig } from '../../src/k8s/kubeconfig.js';
import { applyManifests, manifestFiles, readManifests, substituteImage } from '../../src/k8s/manifests.js';
import { UserError } from '../../src/util/errors.js';
import { startKubeServer, type KubeServer, type Obj } from '../support/kube-server.js';

let server: KubeServer;
let kube: KubeClient;
const NS = 'shop';

const route = (): Obj => ({
  metadata: { name: 'web' },
  spec: {
    parentRefs: [{ name: 'external', namespace: 'gateways' }],
    hostnames: ['shop.example.com'],
    rules: [
      {
        matches: [{ path: { type: 'PathPrefix', value: '/' } }],
        backendRefs: [
          { name: 'web', port: 80, weight: 95 },
          { name: 'legacy', port: 8080, weight: 5 },
        ],
      },
      { matches: [{ path: { type: 'PathPrefix', value: '/admin' } }], backendRefs: [{ name: 'admin', port: 80 }] },
    ],
  },
});
const service = (name: string): Obj => ({
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ port: 80 }] },
});

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

beforeAll(async () => {
  server = await startKubeServer();
});
afterEach(() => {
  kube?.close();
  expect(server.problems).toEqual([]);
  server.reset();
});
afterAll(() => server.close());

function connect(): void {
  kube = new KubeClient(loadKubeconfig({ path: server.kubeconfig() }), { attempts: 2 });
}

describe('HTTPRoute weights', () => {
  it('shifts our weights, adds the canary ref beside stable, leaves the rest alone and waits for the Gateway', async () => {
    connect();
    for (const s of ['web', 'web-canary', 'legacy', 'admin']) server.seed('services', NS, service(s));
    server.seed('httproutes', NS, route());
    server.controllers.gateway.delayMs = 300;
    const result = await setRouteWeights(kube, NS, 'web', { web: 90, 'web-canary': 10 }, { timeoutMs: 10_000 });
    // Read back until the (slow) Gateway reported on the new generation.
    expect(
      result.route.status?.parents[0]?.conditions?.every(
        (c) => c.status === 'True' && c.observedGeneration === result.route.metadata?.generation,
      ),
    ).toBe(true);
    expect(server.requestsOf('GET', 'httproutes').length).toBeGreaterThanOrEqual(3);
    expect(result.changed).toBe(true);
    expect(result.weights).toEqual([{ rule: 0, weights: { web: 90, 'web-canary': 10 }, others: 5 }]);
    const stored = server.get('httproutes', NS, 'web') as Obj;
    expect(stored.spec.rules[0].backendRefs).toEqual([
      { name: 'web', port: 80, weight: 90 },
      { name: 'legacy', port: 8080, weight: 5 },
      { kind: 'Service', name: 'web-canary', port: 80, weight: 10 },
    ]);
    expect(stored.spec.rules[1]).toEqual(route().spec.rules[1]);
    expect(stored.spec.hostnames).toEqual(['shop.example.com']);

    // Same weights again: nothing is written.
    const puts = server.requestsOf('PUT', 'httproutes').length;
    expect((await setRouteWeights(kube, NS, 'web', { web: 90, 'web-canary': 10 })).changed).toBe(false);
    expect(server.requestsOf('PUT', 'httproutes')).toHaveLength(puts);

    // Promotion: the canary ref goes, stable takes its share.
    await setRouteWeights(kube, NS, 'web', { web: 95, 'web-canary': null });
    expect(readWeights(server.get('httproutes', NS, 'web') as never, ['web', 'web-canary'])).toEqual([
      { rule: 0, weights: { web: 95 }, others: 5 },
    ]);
  });

  it('survives a concurrent writer (409) without losing its change or theirs', async () => {
    connect();
    for (const s of ['web', 'web-canary', 'legacy', 'admin']) server.seed('services', NS, service(s));
    server.seed('httproutes', NS, route());
    server.interfere('httproutes', NS, 'web');
    await setRouteWeights(kube, NS, 'web', { web: 50, 'web-canary': 50 });
    const stored = server.get('httproutes', NS, 'web') as Obj;
    expect(stored.metadata.annotations['test.platform-actions/other-writer']).toBe('1');
    expect(readWeights(stored as never, ['web', 'web-canary'])[0]?.weights).toEqual({ web: 50, 'web-canary': 50 });
  });

  it('a Gateway that cannot resolve the canary Service, or refuses the route, is an error that says so', async () => {
    connect();
    for (const s of ['web', 'legacy', 'admin']) server.seed('services', NS, service(s));
    server.seed('httproutes', NS, route());
    const missing = await failure(setRouteWeights(kube, NS, 'web', { web: 90, 'web-canary': 10 }, { timeoutMs: 5000 }));
    expect(missing).toBeInstanceOf(UserError);
    expect(missing.message).toMatch(/reports ResolvedRefs=False \(BackendNotFound: Service "web-canary" not found\)/);

    server.controllers.gateway.refuse = {
      reason: 'NotAllowedByListeners',
      message: 'No listener allows routes from namespace shop',
    };
    const refused = await failure(setRouteWeights(kube, NS, 'web', { web: 100 }, { timeoutMs: 5000 }));
    expect(refused.message).toMatch(
      /Gateway gateways\/external reports Accepted=False \(NotAllowedByListeners: No listener allows routes from namespace shop\)/,
    );
  });

  it('a route without a rule for our Service is a UserError before anything is written', async () => {
    connect();
    server.seed('httproutes', NS, route());
    const err = (await failure(setRouteWeights(kube, NS, 'web', { shop: 90, 'shop-canary': 10 }))) as UserError;
    expect(err.message).toBe('HTTPRoute shop/web has no rule with a backendRef to shop or shop-canary.');
    expect(server.requestsOf('PUT', 'httproutes')).toEqual([]);
  });
});

describe('manifests', () => {
  function files(): string {
    const dir = mkdtempSync(join(tmpdir(), 'pa-manifests-'));
    mkdirSync(join(dir, 'k8s'));
    writeFileSync(
      join(dir, 'k8s', 'web.yaml'),
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: { name: web, labels: { app: web } }',
        'spec:',
        '  replicas: 2',
        '  selector: { matchLabels: { app: web } }',
        '  template:',
        '    metadata: { labels: { app: web } }',
        '    spec:',
        '      initContainers: [{ name: migrate, image: "ghcr.io/acme/web:old", command: [migrate] }]',
        '      containers:',
        '        - { name: app, image: "ghcr.io/acme/web:old", ports: [{ containerPort: 8080 }] }',
        '        - { name: proxy, image: "envoyproxy/envoy:v1.31.0" }',
        '---',
        'apiVersion: v1',
        'kind: Service',
        'metadata: { name: web }',
        'spec: { selector: { app: web }, ports: [{ port: 80, targetPort: 8080 }] }',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'k8s', 'route.json'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'gateway.networking.k8s.io/v1',
            kind: 'HTTPRoute',
            metadata: { name: 'web' },
            spec: { parentRefs: [{ name: 'external' }], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] },
          },
        ],
      }),
    );
    writeFileSync(join(dir, 'k8s', 'README.md'), 'not a manifest');
    return dir;
  }

  it('reads a folder, puts the image into the target container and its repository siblings, applies in order', async () => {
    connect();
    const dir = files();
    const manifests = readManifests(manifestFiles(['k8s'], dir));
    expect(manifests.map((m) => `${m.kind.kind}/${m.object.metadata?.name}`)).toEqual([
      'HTTPRoute/web',
      'Deployment/web',
      'Service/web',
    ]);
    const image = 'ghcr.io/acme/web@sha256:' + 'a'.repeat(64);
    const changes = substituteImage(manifests, image, { deployment: 'web', containerName: 'app' });
    expect(changes.map((c) => c.container)).toEqual(['migrate', 'app']);
    const applied = await applyManifests(kube, manifests, { namespace: NS });
    expect(applied.map((a) => `${a.kind}/${a.name}`)).toEqual(['Service/web', 'Deployment/web', 'HTTPRoute/web']);
    const d = server.get('deployments', NS, 'web') as Obj;
    expect(d.spec.template.spec.containers.map((c: Obj) => c.image)).toEqual([image, 'envoyproxy/envoy:v1.31.0']);
    expect(server.requestsOf('PATCH', 'deployments')[0]?.contentType).toBe('application/apply-patch+yaml');

    // Applying the same again changes no generation; a dry run stores nothing.
    const again = await applyManifests(kube, manifests, { namespace: NS });
    expect(again.find((a) => a.kind === 'Deployment')?.generation).toBe(1);
    substituteImage(manifests, 'ghcr.io/acme/web:next', { deployment: 'web', containerName: 'app' });
    await applyManifests(kube, manifests, { namespace: NS, dryRun: true });
    expect((server.get('deployments', NS, 'web') as Obj).spec.template.spec.containers[0].image).toBe(image);
  });

  it('mistakes are UserErrors naming the file before anything is sent', () => {
    const dir = files();
    writeFileSync(
      join(dir, 'k8s', 'extra.yaml'),
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: x }\n',
    );
    expect(() => readManifests(manifestFiles(['k8s/*.yaml'], dir))).toThrow(
      /extra\.yaml: platform-actions does not apply rbac\.authorization\.k8s\.io\/v1 ClusterRole/,
    );
    expect(() => manifestFiles(['nope/*.yaml'], dir)).toThrow(/cannot read the folder/);
    expect(() => manifestFiles(['k8s/*.yml'], dir)).toThrow(/matches no file/);
    const manifests = readManifests(manifestFiles(['k8s/web.yaml'], dir));
    expect(() => substituteImage(manifests, 'ghcr.io/acme/web:2', { deployment: 'web' })).toThrow(
      /has 2 containers; which one gets the image\?/,
    );
    expect(server.requests).toEqual([]);
  });

  it('an unknown field is refused by the server (strict field validation) with its path', async () => {
    connect();
    const dir = files();
    writeFileSync(
      join(dir, 'k8s', 'web.yaml'),
      'apiVersion: v1\nkind: Service\nmetadata: { name: web }\nspec: { ports: [{ port: 80, targetPrt: 8080 }] }\n',
    );
    const manifests = readManifests(manifestFiles(['k8s/web.yaml'], dir));
    const err = await failure(applyManifests(kube, manifests, { namespace: NS }));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/strict decoding error: unknown field "spec\.ports\[0\]\.targetPrt"/);
    // The stand-in records what a real server rejects; here that is the test's intent.
    expect(server.problems).toEqual([
      `PATCH wrote an invalid Service ${NS}/web: spec.ports[0].targetPrt: unknown field`,
    ]);
    server.problems.length = 0;
  });
});
