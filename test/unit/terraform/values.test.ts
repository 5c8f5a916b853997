import { describe, expect, it } from '@jest/globals';
import { createdValues, diffValues, flatten, renderLeaf, SENSITIVE, UNKNOWN } from '../../../src/terraform/values.js';

describe('attribute values', () => {
  it('flattens nested values to paths, null and empty alike', () => {
    const flat = flatten(
      { tags: { team: 'a' }, ingress: [{ port: 22, cidrs: ['0.0.0.0/0'] }], empty: {}, nothing: null, 'odd key': 1 },
      undefined,
      undefined,
    );
    expect(Object.fromEntries(flat)).toEqual({
      'tags.team': 'a',
      'ingress[0].port': 22,
      'ingress[0].cidrs[0]': '0.0.0.0/0',
      empty: null,
      nothing: null,
      '"odd key"': 1,
    });
  });

  it('reports only real differences: tags null → {} is none', () => {
    expect(diffValues({ tags: null, a: 1 }, { tags: {}, a: 1 }, {})).toEqual([]);
    expect(diffValues({ tags: null }, { tags: { team: 'x' } }, {})).toEqual([
      { path: 'tags.team', before: null, after: 'x' },
    ]);
    expect(diffValues({ list: [1, 2] }, { list: [1] }, {})).toEqual([{ path: 'list[1]', before: 2, after: null }]);
  });

  it('never shows a sensitive value, and says whether it changed', () => {
    const masks = { beforeSensitive: { password: true }, afterSensitive: { password: true } };
    expect(diffValues({ password: 'old-secret', x: 1 }, { password: 'old-secret', x: 2 }, masks)).toEqual([
      { path: 'x', before: 1, after: 2 },
    ]);
    const changed = diffValues({ password: 'old-secret' }, { password: 'new-secret' }, masks);
    expect(changed).toEqual([{ path: 'password', before: SENSITIVE, after: SENSITIVE }]);
    expect(JSON.stringify(changed.map((c) => [renderLeaf(c.before), renderLeaf(c.after)]))).not.toContain('secret');
  });

  it('hides values derived from a sensitive one even where Terraform did not mark them', () => {
    const changes = diffValues(
      { input: 'hunter2-first', output: 'hunter2-first', url: 'postgres://app:hunter2-first@db' },
      { input: 'hunter2-second' },
      { beforeSensitive: { input: true }, afterSensitive: { input: true }, afterUnknown: { output: true, url: true } },
    );
    expect(changes.map((c) => [c.path, renderLeaf(c.before), renderLeaf(c.after)])).toEqual([
      ['input', '(sensitive value)', '(sensitive value)'],
      ['output', '(sensitive value)', '(known after apply)'],
      ['url', '(sensitive value)', '(known after apply)'],
    ]);
  });

  it('lists what a create sets, with values known only after apply marked', () => {
    expect(createdValues({ bucket: 'b', tags: null }, {}, { arn: true })).toEqual([
      { path: 'arn', after: UNKNOWN },
      { path: 'bucket', after: 'b' },
    ]);
  });
});
