import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { canaryImageMismatch, pauseHelp, pausedRollout } from '../../../src/delivery/deploy-resume.js';
import { recordDescription, withBefore } from '../../../src/delivery/deploy-step.js';
import type { RolloutRecord, RolloutResult } from '../../../src/delivery/types.js';
import { UserError } from '../../../src/util/errors.js';

const RECORD: RolloutRecord = {
  id: '77.1-abc',
  engine: 'kube-canary',
  phase: 'paused',
  stable: 'web',
  canary: 'web-canary',
  weight: 25,
  step: 1,
  at: 1764000000,
};

function result(extra: Partial<RolloutResult> = {}): RolloutResult {
  return {
    status: 'succeeded',
    reason: 'Promoted.',
    deploymentId: '77.1-abc',
    engine: 'kube-canary',
    strategy: 'canary',
    startedAt: 1_000,
    finishedAt: 5_000,
    steps: [],
    timeline: [{ at: 2_000, kind: 'note', message: 'first step' }],
    ...extra,
  };
}

describe('deploy step: what came before the rollout', () => {
  it('puts the earlier rollout it finished into the result and its note first on the timeline', () => {
    const recovered = { record: RECORD, action: 'rolled-back' as const, durationMs: 1200 };
    const out = withBefore(result(), { recovered, note: 'blue of rollout 1 retired' });
    expect(out.recovered).toBe(recovered);
    expect(out.timeline.map((e) => e.message)).toEqual([
      'Before this rollout: blue of rollout 1 retired.',
      'first step',
    ]);
    expect(out.timeline[0]?.at).toBe(1_000);
  });

  it('leaves the result as it is when nothing came before', () => {
    const r = result();
    expect(withBefore(r, {})).toEqual(result());
  });

  it('describes a paused rollout by its weight and deadline, any other by its reason', () => {
    const until = Date.UTC(2026, 11, 7, 22, 0, 0);
    expect(recordDescription(result({ status: 'paused', paused: { until, nextStep: 2, weight: 25 } }))).toBe(
      'Paused at 25% until 2026-12-07T22:00:00.000Z; waiting for a resume',
    );
    expect(recordDescription(result({ status: 'rolled-back', reason: 'p95 over 500 ms' }))).toBe('p95 over 500 ms');
  });
});

describe('deploy step: resume', () => {
  it('takes a paused record and refuses any other, saying what to do', () => {
    const lines: string[] = [];
    expect(pausedRollout('Deployment apps/web', RECORD, (l) => lines.push(l))).toBe(RECORD);
    expect(lines).toHaveLength(1);
    const shifting = () => pausedRollout('Deployment apps/web', { ...RECORD, phase: 'shifting' }, () => undefined);
    expect(shifting).toThrow(UserError);
    expect(shifting).toThrow(/which is not paused/);
    expect(() => pausedRollout('service web', undefined, () => undefined)).toThrow(/service web has no paused rollout/);
  });

  it('names only the containers whose image differs, and a container the canary lacks', () => {
    const running = [
      { name: 'app', image: 'web:1' },
      { name: 'proxy', image: 'envoy:1' },
    ];
    expect(canaryImageMismatch('web-canary', running, running)).toBeUndefined();
    const err = canaryImageMismatch('web-canary', running, [
      { name: 'app', image: 'web:1' },
      { name: 'proxy', image: 'envoy:2' },
      { name: 'sidecar', image: 'log:1' },
    ]);
    expect(err).toBeInstanceOf(UserError);
    expect(err?.message).toBe(
      'The paused canary web-canary runs proxy: envoy:1, sidecar: no such container, but this job was given proxy: envoy:2, sidecar: log:1. Nothing was changed.',
    );
  });

  it('shows a resume and an abort step a user can paste into a workflow', () => {
    const help = pauseHelp('gke-deploy', 'gke', ['namespace: apps', 'deployment: web'], ['image: web:2']);
    expect(parse(help.resume)).toEqual([
      {
        uses: 'org/platform-actions/actions/gke-deploy@v1',
        with: { namespace: 'apps', deployment: 'web', image: 'web:2', resume: true },
      },
    ]);
    expect(parse(help.abort)).toEqual([
      {
        uses: 'org/platform-actions/actions/rollback@v1',
        with: { platform: 'gke', namespace: 'apps', deployment: 'web', reason: 'paused canary aborted' },
      },
    ]);
  });
});
