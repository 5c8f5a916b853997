/**
 * Smoke checks against loopback apps standing for the two sides of a rollout: the stable
 * side answers well, the new side fails its health endpoint. The checks go to the new side
 * only; the stable one must never be asked.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runSmokeChecks } from '../../src/analysis/smoke.js';
import { parseAnalysisSpec } from '../../src/analysis/spec.js';
import { UserError } from '../../src/util/errors.js';

interface Side {
  server: Server;
  url: string;
  hits: string[];
  health: number;
  version: string;
}

async function side(version: string): Promise<Side> {
  const s: Side = { server: createServer(), url: '', hits: [], health: 200, version };
  s.server.on('request', (req, res) => {
    s.hits.push(`${req.method} ${req.url} ${req.headers['x-smoke'] ?? ''}`.trim());
    if (req.url === '/health') {
      res
        .writeHead(s.health, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: s.health === 200 ? 'ok' : 'degraded', version: s.version }));
    } else if (req.url === '/api/config') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ name: 'Open WebUI', features: { auth: true } }));
    } else res.writeHead(404).end('not found');
  });
  await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r));
  s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
  return s;
}

let stable: Side;
let canary: Side;
beforeAll(async () => {
  stable = await side('v1');
  canary = await side('v2');
});
afterAll(async () => {
  for (const s of [stable, canary]) await new Promise((r) => s.server.close(r));
});
beforeEach(() => {
  stable.hits = [];
  canary.hits = [];
  canary.health = 200;
});

const SPEC = `
metrics:
  - { name: error-rate, provider: prometheus, query: 'up', judge: { threshold: { max: 1% } } }
smoke:
  retries: 2
  retry-delay: 100ms
  timeout: 2s
  checks:
    - { name: health, path: /health, status: 200, json: { path: $.status, equals: ok }, headers: { X-Smoke: '1' } }
    - { name: config, path: /api/config, body-contains: Open WebUI, json: { path: $.features.auth, equals: true } }
`;

describe('smoke checks', () => {
  it('pass on a healthy new side, and ask only the new side', async () => {
    const spec = parseAnalysisSpec(SPEC, { providers: ['prometheus'] });
    const lines: string[] = [];
    const result = await runSmokeChecks(spec.smoke!, canary.url, { log: (l) => lines.push(l) });
    expect(result.passed).toBe(true);
    expect(result.results.map((r) => [r.name, r.passed, r.attempts])).toEqual([
      ['health', true, 1],
      ['config', true, 1],
    ]);
    expect(canary.hits).toEqual(['GET /health 1', 'GET /api/config']);
    expect(stable.hits).toEqual([]);
    expect(lines).toEqual(['smoke health: passed', 'smoke config: passed']);
  });

  it('fail on a new side that answers 500, after its retries, with what it saw', async () => {
    canary.health = 500;
    const spec = parseAnalysisSpec(SPEC, { providers: ['prometheus'] });
    const result = await runSmokeChecks(spec.smoke!, canary.url);
    expect(result.passed).toBe(false);
    expect(result.results[0]).toMatchObject({ name: 'health', passed: false, attempts: 3 });
    expect(result.results[0]?.detail).toBe('HTTP 500, expected 200: {"status":"degraded","version":"v2"}');
    expect(canary.hits.filter((h) => h.startsWith('GET /health'))).toHaveLength(3);
    expect(stable.hits).toEqual([]);
  });

  it('fail a JSON condition and an unreachable side with the reason', async () => {
    const spec = parseAnalysisSpec(
      `
metrics: [{ name: e, provider: prometheus, query: up, judge: { threshold: { max: 1 } } }]
smoke: [{ path: /health, json: { path: $.version, equals: v3 }, retries: 0 }]
`,
      { providers: ['prometheus'] },
    );
    const wrong = await runSmokeChecks(spec.smoke!, canary.url);
    expect(wrong.results[0]?.detail).toBe('$.version is "v2", expected "v3"');
    const gone = createServer();
    await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
    const port = (gone.address() as AddressInfo).port;
    await new Promise((r) => gone.close(r));
    const closed = await runSmokeChecks(spec.smoke!, `http://127.0.0.1:${port}`);
    expect(closed.results[0]?.detail).toMatch(/^unreachable \(ECONNREFUSED\)$/);
  });

  it('refuses a bad smoke section when the spec is read', () => {
    const bad = (smoke: string) => () =>
      parseAnalysisSpec(
        `metrics: [{ name: e, provider: prometheus, query: up, judge: { threshold: { max: 1 } } }]\nsmoke: ${smoke}`,
        { providers: ['prometheus'] },
      );
    expect(bad('[{ path: health }]')).toThrow("smoke.checks[0].path is 'health', not a path starting with /");
    expect(bad('[{ path: /x, method: DELETE }]')).toThrow("smoke.checks[0].method is 'DELETE'");
    expect(bad('[{ path: /x, expect: 200 }]')).toThrow('smoke.checks[0].expect is not a check field');
    expect(bad('[]')).toThrow('smoke.checks must list at least one check');
    expect(bad('[{ path: /x }]')).not.toThrow();
    expect(() => bad('[{ path: /x, json: { path: status } }]')()).toThrow(UserError);
  });
});
