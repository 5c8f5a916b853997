import { describe, expect, it } from '@jest/globals';
import { fromText } from '../../../src/terraform/diagnostics.js';
import { driftedResources, driftFingerprint, pendingChanges } from '../../../src/terraform/drift.js';
import type { ResourceChange } from '../../../src/terraform/plan-json.js';

const rc = (
  address: string,
  actions: string[],
  before: unknown,
  after: unknown,
  extra: Partial<ResourceChange['change']> = {},
): ResourceChange =>
  ({
    address,
    mode: 'managed',
    type: 't',
    name: 'n',
    change: { actions, before, after, after_unknown: {}, before_sensitive: {}, after_sensitive: {}, ...extra },
  }) as ResourceChange;

describe('drift', () => {
  it('ignores null versus empty and reports real changes attribute by attribute', () => {
    const drift = driftedResources([
      rc('aws_vpc.main', ['update'], { tags: null, tags_all: {} }, { tags: {}, tags_all: null }),
      rc('aws_s3_bucket.b', ['update'], { tags: { owner: 'a' } }, { tags: { owner: 'b', extra: '1' } }),
      rc('aws_instance.gone', ['delete'], { id: 'i-1' }, null),
      { ...rc('data.aws_ami.x', ['update'], { id: 'a' }, { id: 'b' }), mode: 'data' },
    ]);
    expect(drift).toEqual([
      { address: 'aws_instance.gone', change: 'deleted', attributes: [] },
      {
        address: 'aws_s3_bucket.b',
        change: 'changed',
        attributes: [
          { path: 'tags.extra', before: 'null', after: '"1"' },
          { path: 'tags.owner', before: '"a"', after: '"b"' },
        ],
      },
    ]);
  });

  it('never puts a sensitive value in the report', () => {
    const drift = driftedResources([
      rc(
        'aws_db_instance.db',
        ['update'],
        { password: 'p4ss-old' },
        { password: 'p4ss-new' },
        { before_sensitive: { password: true }, after_sensitive: { password: true } },
      ),
    ]);
    expect(JSON.stringify(drift)).not.toContain('p4ss');
    expect(drift[0]?.attributes).toEqual([
      { path: 'password', before: '(sensitive value)', after: '(sensitive value)' },
    ]);
  });

  it('tells changes that undo drift from configuration not yet applied', () => {
    const drift = driftedResources([
      rc('aws_s3_bucket.b', ['update'], { tags: { owner: 'a' } }, { tags: { owner: 'b' } }),
    ]);
    const pending = pendingChanges(
      [
        rc(
          'aws_s3_bucket.b',
          ['update'],
          { tags: { owner: 'b' }, acl: 'private' },
          { tags: { owner: 'a' }, acl: 'private' },
        ),
        rc('aws_s3_bucket.c', ['update'], { versioning: false }, { versioning: true }),
        rc('aws_s3_bucket.d', ['create'], null, { bucket: 'd' }),
        rc('aws_s3_bucket.e', ['no-op'], { a: 1 }, { a: 1 }),
      ],
      drift,
    );
    expect(pending).toEqual([
      { address: 'aws_s3_bucket.b', kind: 'update', attributes: [], revertsDrift: true },
      { address: 'aws_s3_bucket.c', kind: 'update', attributes: ['versioning'], revertsDrift: false },
      { address: 'aws_s3_bucket.d', kind: 'create', attributes: [], revertsDrift: false },
    ]);
    expect(driftFingerprint({ drift })).toBe(driftFingerprint({ drift: JSON.parse(JSON.stringify(drift)) }));
    expect(driftFingerprint({ drift })).not.toBe(driftFingerprint({ drift: [] }));
  });
});

describe('diagnostics from human output', () => {
  it('reads summary, file, line and detail from boxed errors', () => {
    const text = [
      '╷',
      '│ Error: Reference to undeclared resource',
      '│ ',
      '│   on main.tf line 15, in resource "aws_security_group" "bad":',
      '│   15:   description = aws_s3_bucket.missing.id',
      '│ ',
      '│ A managed resource "aws_s3_bucket" "missing" has not been declared in the root module.',
      '╵',
    ].join('\n');
    expect(fromText(text)).toEqual([
      {
        severity: 'error',
        summary: 'Reference to undeclared resource',
        file: 'main.tf',
        line: 15,
        snippet: '│   15:   description = aws_s3_bucket.missing.id'.replace(/^│\s?/, ''),
        detail: 'A managed resource "aws_s3_bucket" "missing" has not been declared in the root module.',
      },
    ]);
  });
});
