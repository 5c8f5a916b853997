import { describe, expect, it } from '@jest/globals';
import { buildPlan } from '../../../src/delivery/plan.js';
import { checkTimeBudget, HOSTED_RUNNER_CAP_MS, jobLimit, worstCase } from '../../../src/delivery/time-budget.js';

const MIN = 60_000;
const canary = buildPlan({ strategy: 'canary', steps: '10,50,100', stepDurationMs: 30 * MIN });

describe('time budget', () => {
  it('sums the wait, the bakes, the extensions when the analysis extends, and the rollback deadline', () => {
    const worst = worstCase({
      plan: canary,
      waitTimeoutMs: 15 * MIN,
      analysis: { onInconclusive: 'extend', maxExtensionMs: 10 * MIN, intervalMs: MIN },
    });
    expect(worst.totalMs).toBe((15 + 60 + 20 + 10) * MIN);
    expect(worst.parts.map(([, ms]) => ms / MIN)).toEqual([15, 60, 20, 10]);
    expect(
      worstCase({
        plan: canary,
        waitTimeoutMs: 15 * MIN,
        analysis: { onInconclusive: 'stop', maxExtensionMs: 10 * MIN, intervalMs: MIN },
      }).totalMs,
    ).toBe(85 * MIN);
  });

  it('reads job-timeout as minutes or a duration, caps it at 6 h on hosted runners, and assumes 360 min without it', () => {
    expect(jobLimit('90', {}).ms).toBe(90 * MIN);
    expect(jobLimit('2h', {}).ms).toBe(120 * MIN);
    expect(jobLimit('', {})).toMatchObject({ ms: HOSTED_RUNNER_CAP_MS, assumed: true });
    expect(jobLimit('600', {})).toMatchObject({ ms: HOSTED_RUNNER_CAP_MS, what: expect.stringContaining('6 h cap') });
    expect(jobLimit('600', { RUNNER_ENVIRONMENT: 'self-hosted' }).ms).toBe(600 * MIN);
    expect(() => jobLimit('soon', {})).toThrow(/job-timeout/);
  });

  it('refuses a plan that does not fit the tightest limit, with the breakdown and what to do', () => {
    const limits = [jobLimit('90', {}), { what: 'the AWS credentials', ms: 60 * MIN, remedy: 'Renew them.' }];
    expect(() => checkTimeBudget({ plan: canary, waitTimeoutMs: 15 * MIN }, limits)).toThrow(
      /up to 1h25m, longer than the AWS credentials, 1h\. Nothing was changed\.\n {2}15m: waiting/,
    );
    expect(() => checkTimeBudget({ plan: canary, waitTimeoutMs: 15 * MIN }, [jobLimit('90', {})])).not.toThrow();
  });
});
