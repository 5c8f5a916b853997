/**
 * The web metric provider against a loopback JSON API shaped like Datadog's
 * /api/v1/query answer (series[].pointlist of [ms, value]): pass, fail, a wrong JSON path,
 * a refused key, a backend that hangs, and what it sends.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAnalysis } from '../../src/analysis/analysis.js';
import { parseAnalysisSpec } from '../../src/analysis/spec.js';
import { createWebProvider, parseWebRequest } from '../../src/analysis/web.js';
import { UserError } from '../../src/util/errors.js';

interface Seen {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let base: string;
const seen: Seen[] = [];
/** Error rate per deployment the API reports; a deployment not listed gets an empty series. */
let rates: Record<string, { errors: number; requests: number }> = {};
let behaviour: 'ok' | 'hang' | 'flaky' = 'ok';
let flakyLeft = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      seen.push({ method: req.method ?? '', url, headers: req.headers, body: Buffer.concat(chunks).toString() });
      if (behaviour === 'hang') return; // never answers
      if (behaviour === 'flaky' && flakyLeft-- > 0) {
        res.writeHead(503).end('upstream busy');
        return;
      }
      if (req.headers['dd-api-key'] !== 'dd-secret-123') {
        res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: ['Forbidden'] }));
        return;
      }
      const query = url.searchParams.get('query') ?? '';
      const deployment = /deployment:([\w-]+)/.exec(query)?.[1] ?? '';
      const r = rates[deployment];
      const from = Number(url.searchParams.get('from')) * 1000;
      const series = r
        ? [
            {
              metric: 'errors',
              pointlist: [
                [from, r.errors / r.requests / 2],
                [from + 10_000, r.errors / r.requests],
              ],
            },
            { metric: 'requests', pointlist: [[from + 10_000, r.requests]] },
          ]
        : [];
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', series }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  seen.length = 0;
  rates = {};
  behaviour = 'ok';
});

const query = (value = '$.series[0].pointlist[-1][1]') => `
url: ${'BASE'}/api/v1/query?from=\${start}&to=\${end}&query=sum:errors{deployment:{{deployment}}}
header: DD-API-KEY: \${env.DD_API_KEY}
value: ${value}
count: $.series[1].pointlist[-1][1]
samples: $.series[0].pointlist`;

function spec(value?: string) {
  const text = `
provider: web
metrics:
  - name: error-rate
    min-count: 100
    unit: ratio
    query: |
${query(value)
  .replace('BASE', base)
  .split('\n')
  .filter(Boolean)
  .map((l) => `      ${l}`)
  .join('\n')}
    judge: { threshold: { max: 1% } }
`;
  return parseAnalysisSpec(text, { providers: ['web'], labels: ['deployment'] });
}

const window = { start: new Date(Date.now() - 60_000), end: new Date() };
const env = { DD_API_KEY: 'dd-secret-123' };

describe('web metric provider', () => {
  it('passes a healthy canary, fails a broken one, and sends the window and the key', async () => {
    rates = { good: { errors: 1, requests: 400 }, bad: { errors: 40, requests: 400 } };
    const analysis = createAnalysis(spec(), { providers: { web: createWebProvider({ env }) } });

    const good = await analysis.run({ canary: { deployment: 'good' } }, window);
    expect(good.verdict).toBe('pass');
    expect(good.checks[0]).toMatchObject({ verdict: 'pass', canary: 0.0025, count: { canary: 400 } });

    const bad = await analysis.run({ canary: { deployment: 'bad' } }, window);
    expect(bad.verdict).toBe('fail');
    expect(bad.checks[0]?.reason).toMatch(/error-rate 10% > 1% \(400 requests\)/);

    expect(seen[0]?.method).toBe('GET');
    expect(seen[0]?.url.searchParams.get('from')).toBe(String(Math.floor(window.start.getTime() / 1000)));
    expect(seen[0]?.url.searchParams.get('to')).toBe(String(Math.floor(window.end.getTime() / 1000)));
    expect(seen[0]?.url.searchParams.get('query')).toBe('sum:errors{deployment:good}');
    expect(seen[0]?.headers['dd-api-key']).toBe('dd-secret-123');
  });

  it('is inconclusive when the API has no data (an empty series), not failed', async () => {
    const analysis = createAnalysis(spec(), { providers: { web: createWebProvider({ env }) } });
    const run = await analysis.run({ canary: { deployment: 'quiet' } }, window);
    expect(run.verdict).toBe('inconclusive');
  });

  it('says where a wrong JSON path stops matching the answer', async () => {
    rates = { good: { errors: 1, requests: 400 } };
    const analysis = createAnalysis(spec('$.data[0].value'), { providers: { web: createWebProvider({ env }) } });
    const err = await analysis.run({ canary: { deployment: 'good' } }, window).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(
      "The answer has no 'data' at $ (path $.data[0].value); there it has status, series.",
    );
  });

  it('reports a refused key as something to fix, without printing the key', async () => {
    const analysis = createAnalysis(spec(), {
      providers: { web: createWebProvider({ env: { DD_API_KEY: 'wrong-key-999' } }) },
    });
    const err = await analysis.run({ canary: { deployment: 'good' } }, window).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).describe()).toContain(`GET ${base}/api/v1/query refused the request (HTTP 403).`);
    expect((err as UserError).describe()).not.toContain('wrong-key-999');
  });

  it('names a missing secret variable before sending anything', async () => {
    const analysis = createAnalysis(spec(), { providers: { web: createWebProvider({ env: {} }) } });
    const err = await analysis.run({ canary: { deployment: 'good' } }, window).catch((e: unknown) => e);
    expect((err as Error).message).toContain('uses ${env.DD_API_KEY}, and the step has no such variable');
    expect(seen).toHaveLength(0);
  });

  it('turns a backend that does not answer into an error run (retried), never into a verdict', async () => {
    behaviour = 'hang';
    const analysis = createAnalysis(spec(), {
      providers: { web: createWebProvider({ env, timeoutMs: 300, attempts: 2 }) },
    });
    const run = await analysis.run({ canary: { deployment: 'good' } }, window);
    expect(run.verdict).toBe('error');
    expect(run.checks[0]?.reason).toContain('did not answer within 0.3s');
    expect(seen).toHaveLength(2);
  });

  it('retries a 503 and then judges', async () => {
    behaviour = 'flaky';
    flakyLeft = 1;
    rates = { good: { errors: 0, requests: 200 } };
    const analysis = createAnalysis(spec(), { providers: { web: createWebProvider({ env }) } });
    const run = await analysis.run({ canary: { deployment: 'good' } }, window);
    expect(run.verdict).toBe('pass');
    expect(seen).toHaveLength(2);
  });

  it('refuses malformed requests with the line at fault', () => {
    expect(() => parseWebRequest('url: ftp://x\nvalue: $.a')).toThrow("url 'ftp://x' is not an http(s) URL");
    expect(() => parseWebRequest('url: https://x/?k=${env.KEY}\nvalue: $.a')).toThrow(
      'secrets go in headers or the body',
    );
    expect(() => parseWebRequest('url: https://x\nvalue: series[0]')).toThrow("value 'series[0]' is not a JSON path");
    expect(() => parseWebRequest('url: https://x\nquery: a\nvalue: $.a')).toThrow("has the line 'query: a'");
    expect(() => parseWebRequest('url: https://x\nbody: {}\nvalue: $.a')).toThrow('has a body but method GET');
    expect(
      parseWebRequest(
        'url: https://x\nmethod: post\nbody: {"q":1}\nvalue: $.data.actor.account.nrql.results[0][\'average.duration\']',
      ).value,
    ).toEqual(['data', 'actor', 'account', 'nrql', 'results', 0, 'average.duration']);
  });
});
