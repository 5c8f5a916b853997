import { describe, expect, it } from '@jest/globals';
import { PlanJsonScanner, type ResourceChange } from '../../../src/terraform/plan-json.js';

const plan = {
  format_version: '1.2',
  terraform_version: '1.11.4',
  planned_values: { root_module: { resources: [{ address: 'x', values: { nested: [{ a: '}{"][' }] } }] } },
  resource_drift: [
    {
      address: 'aws_s3_bucket.d',
      mode: 'managed',
      type: 'aws_s3_bucket',
      name: 'd',
      change: { actions: ['update'], before: { tags: null }, after: { tags: {} } },
    },
  ],
  resource_changes: [
    {
      address: 'a.b',
      mode: 'managed',
      type: 'a',
      name: 'b',
      change: { actions: ['create'], before: null, after: { s: 'quote " and \\ backslash }]', n: 1 } },
    },
    {
      address: 'a.c',
      mode: 'managed',
      type: 'a',
      name: 'c',
      change: { actions: ['delete', 'create'], before: { list: [1, [2, { x: '[' }]] }, after: {} },
    },
  ],
  deferred_changes: [],
  output_changes: { url: { actions: ['create'], before: null, after: 'https://x', after_unknown: false } },
  configuration: { root_module: { resources: [{ expressions: { a: { constant_value: '{' } } }] } },
  errored: false,
  complete: true,
};

function scan(text: string, chunk: number) {
  const changes: ResourceChange[] = [];
  const drift: ResourceChange[] = [];
  const scanner = new PlanJsonScanner({
    resourceChange: (rc) => changes.push(rc),
    resourceDrift: (rc) => drift.push(rc),
  });
  const buf = Buffer.from(text);
  for (let i = 0; i < buf.length; i += chunk) scanner.feed(buf.subarray(i, i + chunk));
  return { header: scanner.finish(), changes, drift };
}

describe('streamed JSON plan', () => {
  it('yields the same elements and header as JSON.parse, whatever the chunk size', () => {
    for (const text of [JSON.stringify(plan), JSON.stringify(plan, null, 2)]) {
      for (const chunk of [1, 2, 3, 7, 64, 1 << 20]) {
        const { header, changes, drift } = scan(text, chunk);
        expect(changes).toEqual(plan.resource_changes);
        expect(drift).toEqual(plan.resource_drift);
        expect(header).toEqual({
          format_version: '1.2',
          terraform_version: '1.11.4',
          output_changes: plan.output_changes,
          errored: false,
          complete: true,
        });
      }
    }
  });

  it('handles multi-byte characters split across chunks', () => {
    const text = JSON.stringify({
      resource_changes: [
        {
          address: 'a.ü',
          mode: 'managed',
          type: 'a',
          name: 'ü',
          change: { actions: ['create'], after: { s: '✓ 日本' } },
        },
      ],
    });
    expect(scan(text, 1).changes[0]?.change.after).toEqual({ s: '✓ 日本' });
  });

  it('fails on a truncated file instead of returning half a plan', () => {
    const text = JSON.stringify(plan);
    expect(() => scan(text.slice(0, text.length - 40), 5)).toThrow(/ended early/);
  });
});
