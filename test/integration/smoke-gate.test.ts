/**
 * The smoke gate through the real rollout engine: an in-memory target whose new side is a
 * loopback app. A new side that answers 500 is removed without production traffic ever
 * moving; a healthy one goes on to its steps.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSmokeSpec } from '../../src/analysis/smoke.js';
import { runRollout } from '../../src/delivery/engine.js';
import { buildPlan } from '../../src/delivery/plan.js';
import { withSmokeGate } from '../../src/delivery/smoke-gate.js';
import { FakeClock } from '../support/fake-clock.js';
import { MemoryTarget } from '../support/memory-target.js';

let app: Server;
let url: string;
let status = 200;
const hits: string[] = [];

beforeAll(async () => {
  app = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res
      .writeHead(status, { 'content-type': 'application/json' })
      .end(JSON.stringify({ status: status === 200 ? 'ok' : 'error' }));
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => app.close(r));
});

function rollout() {
  const clock = new FakeClock();
  const target = new MemoryTarget(clock);
  const lines: string[] = [];
  const spec = buildSmokeSpec({
    retries: 1,
    'retry-delay': '50ms',
    checks: [{ name: 'health', path: '/health', json: { path: '$.status', equals: 'ok' } }],
  });
  withSmokeGate(target, { spec, newSideUrl: () => url, log: (l) => lines.push(l) });
  const plan = buildPlan({ strategy: 'canary', steps: '10,100', stepDurationMs: 1000 });
  return {
    target,
    lines,
    run: () =>
      runRollout({
        target,
        plan,
        deploymentId: '4242.1-smoke',
        runId: '4242.1',
        clock,
        heartbeatMs: 0,
        log: (l: string) => lines.push(l),
      }),
  };
}

describe('smoke gate before the first shift', () => {
  it('removes a new side that fails its smoke checks; production weight never moves', async () => {
    status = 500;
    hits.length = 0;
    const { target, run } = rollout();
    const result = await run();

    expect(result.status).toBe('rolled-back');
    expect(result.reason).toContain(
      'smoke checks failed on the new side: health (HTTP 500, expected 200: {"status":"error"})',
    );
    expect(target.calls.filter((c) => c.startsWith('shift'))).toEqual([]);
    expect(target.calls).toContain('rollback v2');
    expect(target.weight).toBe(0);
    expect(hits).toEqual(['GET /health', 'GET /health']);
  });

  it('lets a new side that passes go on to its steps', async () => {
    status = 200;
    hits.length = 0;
    const { target, run, lines } = rollout();
    const result = await run();

    expect(result.status).toBe('succeeded');
    expect(target.calls.indexOf('waitHealthy')).toBeLessThan(target.calls.indexOf('shift 10'));
    expect(hits).toEqual(['GET /health']);
    expect(lines).toContain('smoke health: passed');
  });
});
