import { describe, expect, it } from '@jest/globals';
import type { RolloutResult } from '../../../src/delivery/types.js';
import { rolloutNotification } from '../../../src/delivery/rollout-notification.js';
import { about } from '../../../src/notify/subject.js';

const DIGEST = 'sha256:' + 'd'.repeat(64);
const base: RolloutResult = {
  status: 'succeeded',
  reason: 'All steps passed.',
  deploymentId: 'd1',
  engine: 'ecs-task-set',
  strategy: 'canary',
  startedAt: 0,
  finishedAt: 60_000,
  steps: [],
  timeline: [],
};
const subject = { service: 'open-webui', environment: 'dev', release: 'v2', image: `repo/open-webui@${DIGEST}` };

describe('rolloutNotification', () => {
  it('takes the digest from the image and maps the status to the event', () => {
    expect(about({ ...subject, image: 'repo/x:1.0' })).not.toHaveProperty('digest');
    expect(rolloutNotification(base, subject)).toMatchObject({
      event: 'succeeded',
      service: 'open-webui',
      environment: 'dev',
      release: 'v2',
      digest: DIGEST,
      summary: 'All steps passed.',
    });
  });

  it('a rolled-back canary carries the step, the failing checks of the last run that did not pass, and the recovery', () => {
    const run = (verdict: 'pass' | 'fail', reason: string) => ({
      at: '',
      window: { start: '', end: '' },
      verdict,
      checks: [
        { name: 'p95', verdict, reason },
        { name: 'errors', verdict: 'pass' as const, reason: 'error rate 0.1% ≤ 1%' },
      ],
    });
    const result: RolloutResult = {
      ...base,
      status: 'rolled-back',
      reason: 'Step 2 (50%) analysis failed.',
      steps: [
        { index: 0, weight: 10, bake: { verdict: 'pass', reason: 'ok', runs: [run('pass', 'p95 200 ms ≤ 500 ms')] } },
        {
          index: 1,
          weight: 50,
          bake: {
            verdict: 'fail',
            reason: 'failed',
            runs: [run('fail', 'p95 812 ms > 500 ms'), run('pass', 'p95 300 ms ≤ 500 ms')],
          },
        },
      ],
      failure: { trigger: 'analysis', detectedAt: 0, restoredAt: 12_000, recoveryMs: 12_000 },
    };
    const n = rolloutNotification(result, subject);
    expect(n.event).toBe('rolled-back');
    expect(n.facts).toEqual([
      ['Strategy', 'canary (ecs-task-set)'],
      ['Failed at', 'step 2, 50% of traffic'],
      ['p95', 'p95 812 ms > 500 ms'],
      ['Recovery', '12 s until all traffic was back'],
    ]);
  });

  it('a pause says it waits for approval, at which weight and until when', () => {
    const n = rolloutNotification(
      { ...base, status: 'paused', paused: { until: Date.parse('2026-12-08T10:00:00Z'), nextStep: 2, weight: 25 } },
      subject,
    );
    expect(n.event).toBe('paused');
    expect(n.summary).toMatch(/^Paused at 25%: waiting for approval to resume\./);
    expect(n.facts).toContainEqual(['Paused at', '25% until 2026-12-08T10:00:00.000Z']);
  });
});
