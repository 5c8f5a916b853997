import { describe, expect, it } from '@jest/globals';
import type { DeploymentRecord, DeploymentState } from '../../../src/github/deployments.js';
import { computeFigures, distribution, verdicts } from '../../../src/release/dora.js';

const MIN = 60_000;
let nextId = 1;
function dep(
  at: number,
  statuses: Array<[DeploymentState, number]>,
  extra: { rollback?: boolean; unchanged?: boolean; sha?: string; service?: string } = {},
): DeploymentRecord {
  const id = nextId++;
  return {
    id,
    environment: 'production',
    sha: extra.sha ?? String(id).padStart(40, '0'),
    ref: 'main',
    task: 'deploy',
    description: '',
    createdAt: at,
    creator: 'bot',
    production: true,
    transient: false,
    payload: {
      tool: 'platform-actions',
      image: `web@sha256:${'0'.repeat(64)}`,
      service: extra.service ?? 'web',
      ...(extra.rollback ? { rollback: true } : {}),
      ...(extra.unchanged ? { unchanged: true } : {}),
    },
    statuses: statuses.map(([state, t], i) => ({ id: id * 100 + i, state, description: '', at: t })),
    statusesLoaded: true,
  };
}

describe('distribution', () => {
  it('takes the mean of the middle two for an even count and the nearest rank for p90', () => {
    expect(distribution([])).toBeNull();
    expect(distribution([5])).toEqual({ samples: 1, medianSeconds: 5, p90Seconds: 5 });
    expect(distribution([40, 10, 30, 20])).toEqual({ samples: 4, medianSeconds: 25, p90Seconds: 40 });
    expect(distribution([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100])).toEqual({
      samples: 11,
      medianSeconds: 6,
      p90Seconds: 10,
    });
  });
});

describe('computeFigures', () => {
  const window = { start: 0, end: 86_400_000 };

  it('counts a change followed by a rollback as failed even when nothing marked it, restored by the rollback', () => {
    const a = dep(10 * MIN, [
      ['in_progress', 10 * MIN],
      ['success', 15 * MIN],
    ]);
    const b = dep(60 * MIN, [
      ['in_progress', 60 * MIN],
      ['success', 65 * MIN],
    ]);
    const r = dep(
      70 * MIN,
      [
        ['in_progress', 70 * MIN],
        ['success', 72 * MIN],
      ],
      { rollback: true },
    );
    const f = computeFigures('production', [r, b, a], new Map(), window);
    expect(f.counts).toMatchObject({ changes: 2, succeeded: 2, failed: 1, rollbacks: 1, commitsNotFound: 2 });
    expect(f.changes.find((c) => c.id === b.id)).toMatchObject({
      outcome: 'failed',
      failedBecause: 'rolled-back',
      restoreSeconds: 12 * 60,
      restoredBy: r.id,
    });
    expect(f.changeFailureRate).toBe(0.5);
    expect(f.leadTime).toBeNull();
  });

  it('does not count a deploy step that found the service already running its image as a change', () => {
    const a = dep(10 * MIN, [
      ['in_progress', 10 * MIN],
      ['success', 15 * MIN],
    ]);
    const same = dep(
      60 * MIN,
      [
        ['in_progress', 60 * MIN],
        ['success', 60 * MIN],
      ],
      { unchanged: true },
    );
    const f = computeFigures('production', [same, a], new Map(), window);
    expect(f.counts).toMatchObject({ changes: 1, succeeded: 1, failed: 0 });
    expect(f.changes.map((c) => c.id)).toEqual([a.id]);
  });

  it('keeps a failure that nothing restored open, and misses the target for it', () => {
    const a = dep(10 * MIN, [
      ['in_progress', 10 * MIN],
      ['error', 14 * MIN],
    ]);
    const f = computeFigures('production', [a], new Map(), window);
    expect(f.counts.openFailures).toBe(1);
    expect(f.timeToRestore).toBeNull();
    expect(verdicts(f).timeToRestore).toBe('missed');
  });

  it('meets every target with 10 quick, healthy deployments a day', () => {
    const ds = Array.from({ length: 10 }, (_, i) =>
      dep(
        i * 60 * MIN,
        [
          ['in_progress', i * 60 * MIN],
          ['success', i * 60 * MIN + 4 * MIN],
        ],
        { sha: `${i}`.repeat(40) },
      ),
    );
    const times = new Map(ds.map((d) => [d.sha, d.createdAt - 20 * MIN]));
    const f = computeFigures('production', ds, times, window);
    expect(f.deploymentFrequency.perDay).toBe(10);
    expect(f.leadTime?.medianSeconds).toBe(24 * 60);
    expect(verdicts(f)).toEqual({
      deploymentFrequency: 'met',
      leadTime: 'met',
      changeFailureRate: 'met',
      timeToRestore: 'no-data',
    });
  });
});
