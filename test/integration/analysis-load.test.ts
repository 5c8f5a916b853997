/**
 * The bounded load generator against loopback apps standing for the two sides: every cap
 * is counted where it matters, at the apps (requests received, most in flight at once),
 * and it stops sending when the bake it runs beside ends or is aborted.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { boundedLoad, buildLoadSpec, withLoad, type LoadTarget } from '../../src/analysis/load.js';
import type { Analysis, BakeResult } from '../../src/analysis/types.js';

interface App {
  server: Server;
  url: string;
  received: number[];
  inFlight: number;
  maxInFlight: number;
  holdMs: number;
}

const apps: Record<'canary' | 'stable', App> = {} as never;

async function startApp(): Promise<App> {
  const app: App = { server: undefined as never, url: '', received: [], inFlight: 0, maxInFlight: 0, holdMs: 0 };
  app.server = createServer((req, res) => {
    app.received.push(Date.now());
    app.inFlight++;
    app.maxInFlight = Math.max(app.maxInFlight, app.inFlight);
    setTimeout(() => {
      app.inFlight--;
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    }, app.holdMs).unref();
  });
  await new Promise<void>((r) => app.server.listen(0, '127.0.0.1', r));
  app.url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return app;
}

const targets = (): LoadTarget[] => [
  { side: 'canary', baseUrl: apps.canary.url },
  { side: 'stable', baseUrl: apps.stable.url },
];

beforeAll(async () => {
  apps.canary = await startApp();
  apps.stable = await startApp();
});
afterAll(async () => {
  for (const a of Object.values(apps)) {
    a.server.closeAllConnections();
    await new Promise((r) => a.server.close(r));
  }
});
beforeEach(() => {
  for (const a of Object.values(apps)) Object.assign(a, { received: [], inFlight: 0, maxInFlight: 0, holdMs: 0 });
});

describe('bounded synthetic load', () => {
  it('sends the same rate to both sides, never more than rps × duration, and counts what the apps received', async () => {
    const load = boundedLoad(buildLoadSpec({ rps: 20, paths: ['/health'] }));
    await load.run(targets(), 1000);

    for (const side of ['canary', 'stable'] as const) {
      expect(apps[side].received.length).toBeGreaterThan(0);
      expect(apps[side].received.length).toBeLessThanOrEqual(20);
      expect(load.counts()[side]).toEqual({
        sent: apps[side].received.length,
        ok: apps[side].received.length,
        failed: 0,
      });
    }
  });

  it('stops at max-requests for the whole rollout, across sides and runs', async () => {
    const load = boundedLoad(buildLoadSpec({ rps: 50, 'max-requests': 7 }));
    await load.run(targets(), 500);
    await load.run(targets(), 500);

    expect(apps.canary.received.length + apps.stable.received.length).toBe(7);
    expect(load.exhausted).toBe(true);
  });

  it('keeps at most max-concurrency requests in flight per side when the app is slow', async () => {
    apps.canary.holdMs = 400;
    apps.stable.holdMs = 400;
    const load = boundedLoad(buildLoadSpec({ rps: 50, 'max-concurrency': 2 }));
    await load.run(targets(), 800);

    expect(apps.canary.maxInFlight).toBe(2);
    expect(apps.stable.maxInFlight).toBe(2);
  });

  it('stops at once on abort (a rollback, a cancel): no request starts after it, in-flight ones are dropped', async () => {
    apps.canary.holdMs = 5000;
    const load = boundedLoad(buildLoadSpec({ rps: 20 }));
    const stop = new AbortController();
    const running = load.run(targets(), 10_000, stop.signal);
    await new Promise((r) => setTimeout(r, 300));
    stop.abort();
    const abortedAt = Date.now();
    await running;

    expect(Date.now() - abortedAt).toBeLessThan(1000);
    for (const a of Object.values(apps)) expect(a.received.filter((t) => t > abortedAt + 50)).toEqual([]);
    expect(load.counts().canary?.failed).toBeGreaterThan(0);
  });

  it('runs beside a bake only: load ends when the bake returns early, and the counts are reported', async () => {
    const failing: Analysis = {
      intervalMs: 100,
      failureLimit: 1,
      errorLimit: 3,
      run: () => Promise.reject(new Error('not used')),
      bake: async (): Promise<BakeResult> => {
        await new Promise((r) => setTimeout(r, 400));
        return { verdict: 'fail', reason: 'error rate 5%', runs: [] };
      },
    };
    const reported: Array<Record<string, { sent: number }>> = [];
    const load = boundedLoad(buildLoadSpec({ rps: 20 }));
    const analysis = withLoad(
      failing,
      load,
      () => targets(),
      (c) => reported.push(c),
    );
    const result = await analysis.bake({ subjects: { canary: {} }, durationMs: 10_000, since: new Date() });
    const endedAt = Date.now();
    await new Promise((r) => setTimeout(r, 300));

    expect(result.verdict).toBe('fail');
    // A request already on the wire when the bake ended may still land a moment later; nothing is sent after it.
    for (const a of Object.values(apps)) expect(a.received.filter((t) => t > endedAt + 50)).toEqual([]);
    expect(reported).toHaveLength(1);
    expect(reported[0]?.canary?.sent).toBe(apps.canary.received.length);
  });

  it('refuses a spec above the caps before sending anything', () => {
    expect(() => buildLoadSpec({ rps: 500 })).toThrow(
      'In the analysis spec, load.rps must be a number above 0 and at most 50.',
    );
    expect(() => buildLoadSpec({ 'max-requests': 1e6 })).toThrow(
      'load.max-requests must be a number above 0 and at most 100000',
    );
    expect(() => buildLoadSpec({ paths: ['health'] })).toThrow('load.paths must list paths starting with /');
  });
});
