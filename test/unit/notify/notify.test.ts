import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { notify, parseTargets, type Notification } from '../../../src/notify/notify.js';
import { UserError } from '../../../src/util/errors.js';

/**
 * notify against local webhook receivers: one that records what it is sent, one that
 * never answers, one that answers 500. No Block Kit or Adaptive Card JSON schema ships in
 * an npm package installed here, so the payloads get a small shape check written from
 * Slack's Block Kit reference (block types, the 150-character header, at most 10 section
 * fields of at most 2,000 characters) and the Adaptive Card 1.4 schema (AdaptiveCard,
 * TextBlock, FactSet of title/value, Action.OpenUrl) in an attachment as Teams workflows
 * expect it.
 */
let receiver: Server;
let hanging: Server;
let failing: Server;
const received: Array<{ path: string; body: Record<string, unknown> }> = [];
const base = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
const listen = (handler: (req: IncomingMessage, res: ServerResponse) => void) =>
  new Promise<Server>((resolve) => {
    const s = createServer(handler);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });

beforeAll(async () => {
  receiver = await listen((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(data) as Record<string, unknown> });
      res.writeHead(200).end('ok');
    });
  });
  hanging = await listen(() => undefined);
  failing = await listen((_req, res) => res.writeHead(500).end('boom'));
});
afterAll(async () => {
  for (const s of [receiver, hanging, failing]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const ROLLED_BACK: Notification = {
  event: 'rolled-back',
  service: 'open-webui',
  environment: 'dev',
  release: 'v2.0.0',
  image: '111111111111.dkr.ecr.eu-west-1.amazonaws.com/open-webui@sha256:' + 'a'.repeat(64),
  digest: 'sha256:' + 'a'.repeat(64),
  summary: 'Canary step 2 (50%) failed: p95 latency 812 ms > 500 ms <for 3 runs>',
  facts: [
    ['p95 latency', '812 ms > 500 ms'],
    ['error rate', '0.4% ≤ 1%'],
  ],
  runUrl: 'https://github.com/acme/webui/actions/runs/42',
};

/** Received JSON, walked loosely by the shape checks. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function checkSlack(body: Record<string, unknown>) {
  expect(typeof body.text).toBe('string');
  const blocks = body.blocks as Json[];
  expect(blocks.length).toBeLessThanOrEqual(50);
  for (const b of blocks) {
    expect(['header', 'section', 'actions', 'context', 'divider']).toContain(b.type);
    if (b.type === 'header') {
      expect(b.text).toMatchObject({ type: 'plain_text', text: expect.any(String) });
      expect(b.text.text.length).toBeLessThanOrEqual(150);
    }
    if (b.type === 'section') {
      expect(b.text ?? b.fields).toBeDefined();
      if (b.fields) {
        expect(b.fields.length).toBeLessThanOrEqual(10);
        for (const f of b.fields) expect(f.type === 'mrkdwn' && f.text.length <= 2000).toBe(true);
      }
    }
    if (b.type === 'actions')
      for (const e of b.elements)
        expect(e).toMatchObject({
          type: 'button',
          text: { type: 'plain_text' },
          url: expect.stringMatching(/^https:/),
        });
  }
}

function checkTeams(body: Json) {
  expect(body.type).toBe('message');
  expect(body.attachments).toHaveLength(1);
  const a = body.attachments[0];
  expect(a.contentType).toBe('application/vnd.microsoft.card.adaptive');
  expect(a.content).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
  for (const el of a.content.body) {
    expect(['TextBlock', 'FactSet']).toContain(el.type);
    if (el.type === 'TextBlock') expect(typeof el.text).toBe('string');
    if (el.type === 'FactSet')
      for (const f of el.facts) expect([typeof f.title, typeof f.value]).toEqual(['string', 'string']);
  }
  for (const act of a.content.actions ?? [])
    expect(act).toMatchObject({ type: 'Action.OpenUrl', url: expect.any(String) });
}

describe('notify', () => {
  it('sends Slack Block Kit, a Teams Adaptive Card and generic JSON with the service, environment, release, digest, the failing numbers and the run link', async () => {
    received.length = 0;
    const targets = parseTargets(
      `slack=${base(receiver)}/slack\nteams=${base(receiver)}/teams\n${base(receiver)}/generic`,
      () => undefined,
    );
    const results = await notify(targets, ROLLED_BACK);
    expect(results.every((r) => r.ok)).toBe(true);
    const by = Object.fromEntries(received.map((r) => [r.path, r.body]));
    checkSlack(by['/slack'] as Record<string, unknown>);
    expect(JSON.stringify(by['/slack'])).toContain('p95 latency 812 ms &gt; 500 ms &lt;for 3 runs&gt;');
    expect(by['/slack']?.text).toBe('↩️ Rolled back: open-webui in dev (release v2.0.0)');
    checkTeams(by['/teams'] as Record<string, unknown>);
    expect(JSON.stringify(by['/teams'])).toContain('{"title":"p95 latency","value":"812 ms > 500 ms"}');
    expect(by['/generic']).toMatchObject({
      schema: 'platform-actions/notification@1',
      event: 'rolled-back',
      service: 'open-webui',
      environment: 'dev',
      release: 'v2.0.0',
      digest: ROLLED_BACK.digest,
      facts: { 'p95 latency': '812 ms > 500 ms', 'error rate': '0.4% ≤ 1%' },
      runUrl: 'https://github.com/acme/webui/actions/runs/42',
    });
  });

  it('a receiver that hangs or answers 500 is reported, never thrown, and holds nothing up beyond the deadline', async () => {
    received.length = 0;
    const targets = parseTargets(
      `slack=${base(hanging)}/x\nteams=${base(failing)}/y\nwebhook=${base(receiver)}/ok`,
      () => undefined,
    );
    const started = Date.now();
    const results = await notify(targets, { ...ROLLED_BACK, event: 'failed' }, { timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(results.map((r) => [r.ok, r.detail])).toEqual([
      [false, 'no answer within 300 ms'],
      [false, 'answered HTTP 500'],
      [true, 'HTTP 200'],
    ]);
    expect(received.map((r) => r.path)).toEqual(['/ok']);
  });

  it('masks every URL before checking it, and names a target by kind and host only', async () => {
    const masked: string[] = [];
    const secret = `${base(failing)}/services/T000/B000/very-secret-token`;
    const results = await notify(
      parseTargets(`slack=${secret}`, (s) => masked.push(s)),
      ROLLED_BACK,
    );
    expect(masked).toEqual([secret]);
    expect(JSON.stringify(results)).not.toContain('very-secret-token');
    expect(() => parseTargets('pager=https://x.example', (s) => masked.push(s))).toThrow(UserError);
    expect(masked).toContain('https://x.example');
    expect(() => parseTargets('slack=http://hooks.example.com/x', () => undefined)).toThrow(
      'notify: the slack target is not an https URL.',
    );
  });
});
