import { describe, expect, it } from '@jest/globals';
import { globToRegExp, matchesAny } from '../../../src/util/glob.js';
import { mapLimit } from '../../../src/util/pool.js';

describe('globs', () => {
  it('matches resource addresses (no separator) and paths (with one)', () => {
    expect(matchesAny('aws_db_instance.main', ['aws_db_instance.*'])).toBe(true);
    expect(matchesAny('module.data.aws_s3_bucket.x["a"]', ['module.data.**'])).toBe(true);
    expect(matchesAny('aws_s3_bucket.x', ['aws_db_instance.*'])).toBe(false);
    expect(globToRegExp('infra/*', '/').test('infra/prod')).toBe(true);
    expect(globToRegExp('infra/*', '/').test('infra/prod/modules')).toBe(false);
    expect(globToRegExp('infra/**/stack', '/').test('infra/stack')).toBe(true);
    expect(globToRegExp('infra/**/stack', '/').test('infra/a/b/stack')).toBe(true);
    expect(globToRegExp('env-?', '/').test('env-1')).toBe(true);
  });
});

describe('mapLimit', () => {
  it('runs at most `limit` at once and keeps the order', async () => {
    let running = 0;
    let most = 0;
    const out = await mapLimit([5, 1, 3, 2, 4], 2, async (n) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, n * 5));
      running--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 30, 20, 40]);
    expect(most).toBe(2);
  });
});
