import { describe, expect, it } from '@jest/globals';
import { previousGood, readHistory, standingOf } from '../../../src/k8s/last-good.js';
import type { Revision } from '../../../src/k8s/rollout.js';

const rev = (revision: number, hash: string): Revision => ({
  revision,
  replicaSet: `web-${hash}`,
  template: { metadata: { labels: { 'pod-template-hash': hash } } },
  images: { app: hash },
  replicas: 0,
});
const annotated = (value: string) => ({ metadata: { annotations: { 'platform-actions/revisions': value } } });

describe('last known good', () => {
  // v1 r1 (before platform-actions), v2 r2 good, broken r4 rolled back, v3 r5 good (moved up by the rollback).
  const history = { v: 1 as const, good: ['v2', 'v3'], bad: ['broken'] };
  const all = [rev(1, 'v1'), rev(2, 'v2'), rev(4, 'broken'), rev(5, 'v3')];

  it('previous is the newest other template that completed a rollout, not the revision before', () => {
    expect(previousGood(history, all, rev(5, 'v3'))).toEqual({ revision: rev(2, 'v2'), standing: 'completed' });
  });

  it('without a completed one, the newest earlier revision that was not rolled back; none when only rolled-back ones are left', () => {
    expect(previousGood({ v: 1, good: [], bad: ['broken', 'v3'] }, [...all, rev(6, 'v2')], rev(6, 'v2'))).toEqual({
      revision: rev(1, 'v1'),
      standing: 'unrecorded',
    });
    expect(previousGood({ v: 1, good: [], bad: ['v2'] }, [rev(2, 'v2'), rev(3, 'v1')], rev(3, 'v1'))).toBeUndefined();
  });

  it('says how each revision stands', () => {
    expect(all.map((r) => standingOf(history, r))).toEqual(['unrecorded', 'completed', 'rolled-back', 'completed']);
  });

  it('reads only what this version writes', () => {
    expect(readHistory(annotated('{"v":1,"good":["abc"],"bad":[]}'))).toEqual({
      ok: true,
      history: { v: 1, good: ['abc'], bad: [] },
    });
    expect(readHistory({})).toEqual({ ok: true, history: undefined });
    expect(readHistory(annotated('{"v":1,"good":["../x"],"bad":[]}'))).toMatchObject({ ok: false });
    expect(readHistory(annotated('not json'))).toMatchObject({
      ok: false,
      problem: expect.stringContaining('is not JSON'),
    });
  });
});
