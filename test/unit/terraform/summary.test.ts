import { describe, expect, it } from '@jest/globals';
import { scanPlanText, type ResourceChange } from '../../../src/terraform/plan-json.js';
import { canonicalChanges, decodeDigest, diffCanonical, encodeDigest } from '../../../src/terraform/plan-id.js';
import { bytes, chars, COMMENT_LIMIT, renderPlan, withStatus } from '../../../src/terraform/render.js';
import { kindOf, PlanSummariser, type PlanSummary } from '../../../src/terraform/summary.js';
import { syntheticPlan } from '../../support/synthetic-plan.js';

function summarise(
  plan: { resource_changes: ResourceChange[] } | string,
  protectedPatterns: string[] = [],
): PlanSummary {
  const s = new PlanSummariser(protectedPatterns);
  const header = scanPlanText(typeof plan === 'string' ? plan : JSON.stringify(plan), {
    resourceChange: (rc) => s.add(rc),
    deferredChange: (dc) => s.addDeferred(dc),
  });
  return s.finish(header);
}

const rc = (
  address: string,
  actions: string[],
  before: unknown,
  after: unknown,
  extra: Partial<ResourceChange> = {},
): ResourceChange =>
  ({
    address,
    mode: 'managed',
    type: address.split('.')[0],
    name: 'x',
    change: { actions, before, after, after_unknown: {}, before_sensitive: {}, after_sensitive: {} },
    ...extra,
  }) as ResourceChange;

describe('plan summary', () => {
  it('folds both orders of replacement and counts as Terraform does', () => {
    expect(kindOf(['delete', 'create'])).toBe('replace');
    expect(kindOf(['create', 'delete'])).toBe('replace');
    expect(kindOf(['forget'])).toBe('forget');
    const s = summarise({
      resource_changes: [
        rc('a.create', ['create'], null, { x: 1 }),
        rc('a.update', ['update'], { x: 1 }, { x: 2 }),
        rc('a.cbd', ['create', 'delete'], { x: 1 }, { x: 2 }),
        rc('a.dbc', ['delete', 'create'], { x: 1 }, { x: 2 }),
        rc('a.delete', ['delete'], { x: 1 }, null),
        rc('a.forget', ['forget'], { x: 1 }, null),
        rc('a.moved', ['no-op'], { x: 1 }, { x: 1 }, { previous_address: 'a.old' }),
        rc(
          'a.imported',
          ['no-op'],
          { x: 1 },
          { x: 1 },
          { change: { actions: ['no-op'], before: { x: 1 }, after: { x: 1 }, importing: { id: 'i-1' } } },
        ),
        rc('a.same', ['no-op'], { x: 1 }, { x: 1 }),
        { ...rc('data.a.read', ['read'], null, { x: 1 }), mode: 'data' },
      ],
    });
    expect(s.counts).toEqual({
      add: 3,
      change: 1,
      destroy: 3,
      replace: 2,
      import: 1,
      move: 1,
      forget: 1,
      read: 1,
      deferred: 0,
    });
    expect(s.changes.map((c) => c.address)).toEqual([
      'a.delete',
      'a.cbd',
      'a.dbc',
      'a.update',
      'a.create',
      'a.forget',
      'a.imported',
      'a.moved',
      'data.a.read',
    ]);
    expect(s.hasChanges).toBe(true);
  });

  it('gives the same plan-id to plans that differ only by refresh noise, another to a real change', () => {
    const base = [
      rc(
        'aws_s3_bucket.a',
        ['update'],
        { tags: { team: 'a' }, versioning: [{ enabled: false }], arn: 'x' },
        { tags: { team: 'b' }, versioning: [{ enabled: false }], arn: 'x' },
      ),
      rc('aws_security_group.s', ['no-op'], { ingress: [] }, { ingress: [] }),
      rc('aws_vpc.v', ['update'], { tags: null, cidr: '10.0.0.0/16' }, { tags: {}, cidr: '10.1.0.0/16' }),
    ];
    const noisy = [
      // versioning changed outside Terraform but is not being changed: noise.
      rc(
        'aws_s3_bucket.a',
        ['update'],
        { tags: { team: 'a' }, versioning: [{ enabled: true }], arn: 'x' },
        { tags: { team: 'b' }, versioning: [{ enabled: true }], arn: 'x' },
      ),
      rc('aws_security_group.s', ['no-op'], { ingress: [{ from_port: 22 }] }, { ingress: [{ from_port: 22 }] }),
      rc('aws_vpc.v', ['update'], { tags: {}, cidr: '10.0.0.0/16' }, { tags: null, cidr: '10.1.0.0/16' }),
    ];
    const changed = [
      rc('aws_s3_bucket.a', ['update'], { tags: { team: 'a' } }, { tags: { team: 'c' } }),
      base[1] as ResourceChange,
      base[2] as ResourceChange,
    ];
    const id = summarise({ resource_changes: base }).planId;
    expect(summarise({ resource_changes: noisy }).planId).toBe(id);
    const other = summarise({ resource_changes: changed });
    expect(other.planId).not.toBe(id);
    const reviewed =
      decodeDigest(encodeDigest(summarise({ resource_changes: base }).canonical, 10_000) as string) ?? [];
    expect(diffCanonical(reviewed, canonicalChanges(other.canonical))).toEqual([
      '~ aws_s3_bucket.a.tags.team: reviewed "a" → "b", now "a" → "c"',
    ]);
  });

  it('keeps sensitive values out of the plan-id and its digest', () => {
    const change = rc('db.main', ['update'], { password: 'old-pass-123' }, { password: 'new-pass-456' });
    change.change.before_sensitive = { password: true };
    change.change.after_sensitive = { password: true };
    const s = summarise({ resource_changes: [change] });
    expect(JSON.stringify(s.canonical)).not.toMatch(/pass-/);
    expect(canonicalChanges(s.canonical)[0]?.attributes).toEqual({ password: ['(sensitive)', '(sensitive)'] });
    expect(Buffer.from(encodeDigest(s.canonical, 10_000) as string, 'base64').toString('latin1')).not.toContain(
      'pass-',
    );
  });

  it('fits a huge plan into one comment, destroys first, and counts what it left out', () => {
    const s = summarise(syntheticPlan({ resources: 3000, padding: 300 }));
    const report = {
      stack: 'big',
      directory: 'infra/big',
      binary: 'terraform',
      summary: s,
      errors: [],
      warnings: [],
      unformatted: [],
    };
    const comment = renderPlan(report, {
      limit: COMMENT_LIMIT,
      measure: chars,
      markerId: 'terraform-plan:big',
      moreHint: 'see the job summary',
    });
    expect(comment.length).toBeLessThanOrEqual(COMMENT_LIMIT);
    expect(comment.length).toBeGreaterThan(COMMENT_LIMIT * 0.8);
    const destroys = s.changes.filter((c) => c.kind === 'delete' || c.kind === 'replace');
    // Every destroy and replace is listed (600 of them), before any update or create.
    for (const d of destroys) expect(comment).toContain(d.address);
    expect(comment.indexOf('Destroy and replace (600)')).toBeLessThan(comment.indexOf('Update in place'));
    expect(comment).toMatch(/… and \d+ more changes not shown here: see the job summary/);
    expect(comment).toContain(`plan-id:${s.planId}`);
    expect(comment).not.toContain('secret-');
    // With room for the status line terraform-apply adds later.
    expect(
      withStatus(
        renderPlan(report, { limit: COMMENT_LIMIT - 1000, measure: chars, moreHint: 'x', markerId: 'm' }),
        '✅ applied'.repeat(50),
      ).length,
    ).toBeLessThanOrEqual(COMMENT_LIMIT);
    const summary = renderPlan(report, { limit: 1024 * 1024, measure: bytes, moreHint: 'x' });
    expect(Buffer.byteLength(summary)).toBeLessThanOrEqual(1024 * 1024);
    expect(summary.length).toBeGreaterThan(comment.length);
  });

  it('renders a plan without changes and one that failed', () => {
    const empty = summarise({ resource_changes: [rc('a.same', ['no-op'], { x: 1 }, { x: 1 })] });
    const text = renderPlan(
      {
        stack: 's',
        directory: '.',
        binary: 'tofu',
        summary: empty,
        errors: [],
        warnings: [],
        unformatted: ['main.tf'],
      },
      { limit: COMMENT_LIMIT, measure: chars, moreHint: '' },
    );
    expect(text).toContain('### Terraform plan: `s`: no changes');
    expect(text).toContain('1 file(s) are not formatted (`tofu fmt`): `main.tf`');
    const failed = renderPlan(
      {
        stack: 's',
        directory: 'infra',
        binary: 'terraform',
        errors: [
          {
            severity: 'error',
            summary: 'Unsupported argument',
            file: 'main.tf',
            line: 3,
            detail: 'An argument named "x" is not expected here.',
          },
        ],
        warnings: [],
        unformatted: [],
      },
      { limit: COMMENT_LIMIT, measure: chars, moreHint: '' },
    );
    expect(failed).toContain('❌ **Error**: Unsupported argument in `infra/main.tf:3`');
  });
});
