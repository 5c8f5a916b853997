import { describe, expect, it } from '@jest/globals';
import { buildLoadSpec } from '../../../src/analysis/load.js';
import { parseAnalysisSpec } from '../../../src/analysis/spec.js';
import { UserError } from '../../../src/util/errors.js';

const METRICS = `
provider: prometheus
metrics:
  - { name: errors, query: 'sum(up)', judge: { threshold: { max: 1 } } }
`;

describe('load: in the analysis spec', () => {
  it('is read with its defaults, and absent without the key', () => {
    expect(parseAnalysisSpec(`${METRICS}load: {}`).load).toEqual({
      rps: 5,
      concurrency: 4,
      totalRequests: 10_000,
      paths: ['/'],
      headers: {},
      timeoutMs: 5000,
      urls: {},
    });
    expect(parseAnalysisSpec(METRICS).load).toBeUndefined();
  });

  it('takes one url for both sides, or one per side', () => {
    expect(buildLoadSpec({ url: 'https://chat.example.com' }).urls).toEqual({
      canary: 'https://chat.example.com',
      stable: 'https://chat.example.com',
    });
    expect(buildLoadSpec({ url: { new: 'http://a:8080', stable: 'http://b' } }).urls).toEqual({
      canary: 'http://a:8080',
      stable: 'http://b',
    });
    expect(buildLoadSpec({ url: { new: 'http://a' } }).urls).toEqual({ canary: 'http://a' });
  });

  it.each([
    [{ url: 'chat.example.com' }, 'load.url must be an http(s) URL'],
    [{ url: 'ftp://x' }, 'load.url must be an http(s) URL'],
    [{ url: { canary: 'http://a' } }, 'load.url.canary is not a side'],
    [{ url: ['http://a'] }, 'load.url must be a URL or a mapping of new and stable'],
    [{ headers: ['x'] }, 'load.headers must be a mapping'],
    [{ rps: 51 }, 'load.rps must be a number above 0 and at most 50'],
    [{ 'max-requests': 100_001 }, 'load.max-requests must be a number above 0 and at most 100000'],
    [{ duration: '5m' }, 'load.duration is not a load setting'],
  ])('refuses %j', (raw, message) => {
    expect(() => buildLoadSpec(raw)).toThrow(UserError);
    expect(() => buildLoadSpec(raw)).toThrow(message);
  });

  it('refuses a bad load: through the spec parser, before anything runs', () => {
    expect(() => parseAnalysisSpec(`${METRICS}load: { rps: 500 }`)).toThrow('load.rps must be a number above 0');
  });
});
