import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Job } from '../support/runner.js';

/**
 * The notify action through its bundle, as the runner runs it: a local receiver records
 * what it is sent; a receiver that never answers and one that answers 500 cost a warning
 * and the timeout, never the job. (Payload shapes: test/unit/notify/notify.test.ts.)
 */
let receiver: Server;
let hanging: Server;
let failing: Server;
const got: Array<{ path: string; body: Record<string, unknown> }> = [];
const url = (s: Server, path: string) => `http://127.0.0.1:${(s.address() as AddressInfo).port}${path}`;
const listen = (s: Server) => new Promise<Server>((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)));

beforeAll(async () => {
  receiver = await listen(
    createServer((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => {
        got.push({ path: req.url ?? '', body: JSON.parse(data) as Record<string, unknown> });
        res.writeHead(200).end();
      });
    }),
  );
  hanging = await listen(createServer(() => undefined));
  failing = await listen(createServer((_req, res) => res.writeHead(500).end()));
});
afterAll(async () => {
  for (const s of [receiver, hanging, failing]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const IMAGE = '111111111111.dkr.ecr.eu-west-1.amazonaws.com/open-webui@sha256:' + 'c'.repeat(64);
const base = {
  event: 'rolled-back',
  service: 'open-webui',
  environment: 'dev',
  release: 'v2.0.0',
  image: IMAGE,
  summary: 'Canary step 2 failed: p95 812 ms > 500 ms',
  facts: 'p95 latency=812 ms > 500 ms',
};

describe('notify (bundle)', () => {
  it('sends to every target, masks the URLs, and links the run', async () => {
    got.length = 0;
    const job = new Job({
      GITHUB_REPOSITORY: 'acme/webui',
      GITHUB_RUN_ID: '42',
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_SERVER_URL: 'https://github.com',
    });
    const step = await job.run('notify', {
      inputs: {
        ...base,
        notify: `slack=${url(receiver, '/slack/T0/B0/secret1')}\nteams=${url(receiver, '/teams/secret2')}\n${url(receiver, '/hook')}`,
      },
    });
    expect(step.failure).toBeUndefined();
    expect(step.outputs).toMatchObject({ sent: '3', failed: '0' });
    expect(got.map((g) => g.path).sort()).toEqual(['/hook', '/slack/T0/B0/secret1', '/teams/secret2']);
    const generic = got.find((g) => g.path === '/hook')?.body;
    expect(generic).toMatchObject({
      event: 'rolled-back',
      service: 'open-webui',
      environment: 'dev',
      release: 'v2.0.0',
      digest: 'sha256:' + 'c'.repeat(64),
      runUrl: 'https://github.com/acme/webui/actions/runs/42',
      facts: { 'p95 latency': '812 ms > 500 ms' },
    });
    expect(step.log).not.toContain('secret1');
    expect(step.masked).toEqual(
      expect.arrayContaining([url(receiver, '/slack/T0/B0/secret1'), url(receiver, '/teams/secret2')]),
    );
    expect(step.leaks([url(receiver, '/slack/T0/B0/secret1')])).toEqual([]);
  });

  it('a receiver that hangs or answers 500 is a warning: the step succeeds within its timeout', async () => {
    const job = new Job();
    const started = Date.now();
    const step = await job.run('notify', {
      inputs: { ...base, timeout: '1s', notify: `slack=${url(hanging, '/x')}\nteams=${url(failing, '/y')}` },
    });
    expect(Date.now() - started).toBeLessThan(8000);
    expect(step.failure).toBeUndefined();
    expect(step.outputs).toMatchObject({ sent: '0', failed: '2' });
    expect(step.log).toContain('not sent, no answer within 1000 ms');
    expect(step.log).toContain('not sent, answered HTTP 500');
  });

  it('a bad target list is a warning, not a failure', async () => {
    const step = await new Job().run('notify', { inputs: { ...base, notify: 'pager=https://example.com/x' } });
    expect(step.failure).toBeUndefined();
    expect(step.log).toContain('Nothing was sent: notify: "pager" is not a kind of target.');
  });
});
