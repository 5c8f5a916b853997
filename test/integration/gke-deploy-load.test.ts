/**
 * gke-deploy's synthetic load (`load:` in the analysis spec), the bundle run as the runner
 * runs it, against the Kubernetes stand-in. A loopback server stands for the Gateway's
 * data plane: each request is matched against the live HTTPRoute (longest path prefix,
 * then most header matches, then the heaviest backendRef) and recorded with the Service
 * it reached.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { IMAGES, NS, seedWeb, webRoute } from '../support/gke-workload.js';
import { startKubeServer, type KubeServer, type Obj } from '../support/kube-server.js';
import { Job } from '../support/runner.js';

const HEADER = 'x-platform-actions-smoke';
let kube: KubeServer;
let gateway: Server;
let gatewayUrl: string;
const served: Array<{ service: string; header: string | undefined }> = [];

function serviceFor(route: Obj, req: IncomingMessage): string | undefined {
  const path = (req.url ?? '/').split('?')[0] as string;
  let best: { prefix: number; headers: number; service: string } | undefined;
  for (const rule of route.spec.rules as Obj[])
    for (const m of (rule.matches as Obj[] | undefined) ?? [{}]) {
      const prefix = (m.path?.value as string | undefined) ?? '/';
      const headers = (m.headers as Obj[] | undefined) ?? [];
      if (!path.startsWith(prefix) || !headers.every((h) => req.headers[String(h.name).toLowerCase()] === h.value))
        continue;
      const refs = ((rule.backendRefs as Obj[] | undefined) ?? []).filter((r) => (r.weight ?? 1) > 0);
      const top = refs.sort((a, b) => (b.weight ?? 1) - (a.weight ?? 1))[0];
      if (
        top &&
        (!best || prefix.length > best.prefix || (prefix.length === best.prefix && headers.length > best.headers))
      )
        best = { prefix: prefix.length, headers: headers.length, service: top.name };
    }
  return best?.service;
}

const hasLoadRule = (rules: Obj[]) =>
  rules.some((rule) =>
    ((rule.matches as Obj[] | undefined) ?? []).some((m) =>
      ((m.headers as Obj[] | undefined) ?? []).some((h) => h.name === HEADER),
    ),
  );

/** A metric that always passes (the web provider through the stand-in), and the load. */
const SPEC = () => `
interval: 10s
provider: web
metrics:
  - name: errors
    query: |
      url: ${gatewayUrl}/errors
      value: $.value
    judge: { threshold: { max: 1% } }
load: { rps: 5, max-concurrency: 2, paths: [/health], url: ${gatewayUrl} }
`;

const inputs = (extra: Record<string, string> = {}) => ({
  kubeconfig: kube.kubeconfig(),
  namespace: NS,
  deployment: 'web',
  image: IMAGES.v2,
  strategy: 'canary',
  'http-route': 'web',
  steps: '50,100',
  'step-duration': '10s',
  analysis: SPEC(),
  ...extra,
});

beforeAll(async () => {
  kube = await startKubeServer();
  gateway = createServer((req, res) => {
    const route = kube.get('httproutes', NS, 'web');
    const service = (route ? serviceFor(route, req) : undefined) ?? 'none';
    served.push({ service, header: req.headers[HEADER] as string | undefined });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: 0, service }));
  });
  await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
  gatewayUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
}, 30_000);
afterAll(async () => {
  await kube.close();
  gateway.closeAllConnections();
  await new Promise((r) => gateway.close(r));
});
beforeEach(() => {
  kube.reset();
  served.length = 0;
});
afterEach(() => expect(kube.problems).toEqual([]));

describe('gke-deploy: synthetic load to each side during the bakes', () => {
  it("sends each side's load through its own route rule, removes the rules after the bake, and counts it", async () => {
    await seedWeb(kube, { route: true });
    const step = await new Job().run('gke-deploy', { inputs: inputs() });

    expect(step.failure).toBeUndefined();
    expect(step.outputs.status).toBe('succeeded');
    const id = step.outputs['deployment-id'] as string;
    const toNew = served.filter((s) => s.header === `load-new-${id}`);
    const toStable = served.filter((s) => s.header === `load-stable-${id}`);
    expect(toNew.length).toBeGreaterThan(5);
    expect(new Set(toNew.map((s) => s.service))).toEqual(new Set(['web-canary']));
    expect(new Set(toStable.map((s) => s.service))).toEqual(new Set(['web']));
    // The live route ends as seeded: no load rule left after the promotion.
    const live = kube.get('httproutes', NS, 'web') as Obj;
    expect(hasLoadRule(live.spec.rules as Obj[])).toBe(false);
    expect(live.spec.rules.length).toBe(webRoute().spec.rules.length);
    // During the bake the route held one load rule per side, each to that side's Service.
    const loadRules = kube
      .requestsOf('PUT', 'httproutes')
      .filter((r) => r.status === 200)
      .flatMap((r) => ((r.body as Obj).spec.rules as Obj[]).filter((rule) => hasLoadRule([rule])))
      .map((rule) => [(rule.matches as Obj[])[0]?.headers[0].value, (rule.backendRefs as Obj[])[0]?.name]);
    expect(new Set(loadRules.map((r) => JSON.stringify(r)))).toEqual(
      new Set([JSON.stringify([`load-new-${id}`, 'web-canary']), JSON.stringify([`load-stable-${id}`, 'web'])]),
    );
    expect(step.summary).toMatch(
      /Synthetic load during this bake: canary \d+ requests \(\d+ answered\), stable \d+ requests \(\d+ answered\)/,
    );
  }, 90_000);

  it('refuses load on a canary without http-route before changing anything', async () => {
    await seedWeb(kube);
    const step = await new Job().run('gke-deploy', { inputs: inputs({ 'http-route': '' }) });

    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain(
      'The analysis spec has load:, but a canary without http-route shares the stable Service, so nothing reaches the canary or stable alone',
    );
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'])
      expect(kube.requestsOf(method, 'deployments').filter((r) => r.query.dryRun !== 'All')).toEqual([]);
  }, 30_000);
});
