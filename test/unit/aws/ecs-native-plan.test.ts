import { describe, expect, it } from '@jest/globals';
import { checkPauseHooks, nativeRolloutPlan } from '../../../src/aws/ecs-native-target.js';
import { UserError } from '../../../src/util/errors.js';

const MIN = 60_000;
const weights = (p: { plan: { steps: Array<{ weight: number }> } }) => p.plan.steps.map((s) => s.weight);
const bakes = (p: { plan: { steps: Array<{ bakeMs: number }> } }) => p.plan.steps.map((s) => s.bakeMs);

describe('nativeRolloutPlan', () => {
  it('takes a canary from canaryConfiguration, with ECS defaults (5% for 10 minutes)', () => {
    const p = nativeRolloutPlan({ strategy: 'CANARY' }, { steps: '', stepDurationMs: 5 * MIN });
    expect(p.plan.strategy).toBe('canary');
    expect(weights(p)).toEqual([5, 100]);
    // Judged for ECS's own bake, which is longer than step-duration; 100% is the promotion.
    expect(bakes(p)).toEqual([10 * MIN, 0]);
    expect(p.source).toBe("the service's CANARY strategy (canaryConfiguration: 5% for 10m, then 100%)");
    expect(p.notes).toEqual([{ level: 'info', message: "Each step is judged for ECS's own bake of 10m (longer than step-duration, 5m)." }]);
  });

  it('judges for step-duration when ECS bakes less, and keeps tenths of a percent', () => {
    const p = nativeRolloutPlan({ strategy: 'CANARY', canaryConfiguration: { canaryPercent: 2.5, canaryBakeTimeInMinutes: 0 } }, { steps: '', stepDurationMs: 90_000 });
    expect(weights(p)).toEqual([2.5, 100]);
    expect(bakes(p)).toEqual([90_000, 0]);
    expect(p.notes[0]?.message).toMatch(/ECS bakes a step for 0s; the PAUSE hook holds it until the analysis has judged it for step-duration \(1m30s\)/);
  });

  it('takes linear increments from linearConfiguration, ending at 100 whether or not the step divides it', () => {
    expect(weights(nativeRolloutPlan({ strategy: 'LINEAR' }, { steps: '', stepDurationMs: MIN }))).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(weights(nativeRolloutPlan({ strategy: 'LINEAR', linearConfiguration: { stepPercent: 30 } }, { steps: '', stepDurationMs: MIN }))).toEqual([30, 60, 90, 100]);
    const fine = weights(nativeRolloutPlan({ strategy: 'LINEAR', linearConfiguration: { stepPercent: 3.3 } }, { steps: '', stepDurationMs: MIN }));
    expect(fine).toHaveLength(31);
    expect(fine.slice(-3)).toEqual([95.7, 99, 100]);
    const p = nativeRolloutPlan({ strategy: 'LINEAR', linearConfiguration: { stepPercent: 25, stepBakeTimeInMinutes: 2 } }, { steps: '', stepDurationMs: 5 * MIN });
    expect(bakes(p)).toEqual([5 * MIN, 5 * MIN, 5 * MIN, 0]);
  });

  it('judges blue/green once, after the switch, for step-duration', () => {
    const p = nativeRolloutPlan({ strategy: 'BLUE_GREEN', bakeTimeInMinutes: 15 }, { steps: '', stepDurationMs: 3 * MIN });
    expect(p.plan).toEqual({ strategy: 'blue-green', steps: [{ weight: 100, bakeMs: 3 * MIN }] });
    expect(p.source).toContain('bakeTimeInMinutes 15');
  });

  it('reports a steps input that ECS will not follow, and one that matches', () => {
    const conflict = nativeRolloutPlan({ strategy: 'CANARY', canaryConfiguration: { canaryPercent: 10 } }, { steps: '10,50,100', stepDurationMs: MIN });
    expect(conflict.notes[0]).toEqual({
      level: 'warning',
      message:
        "Input 'steps' (10,50,100) is ignored: ECS shifts the traffic of this service by its own CANARY configuration (10,100). Change the service's deploymentConfiguration.canaryConfiguration to change the steps, or leave 'steps' empty.",
    });
    expect(weights(conflict)).toEqual([10, 100]);
    const same = nativeRolloutPlan({ strategy: 'LINEAR', linearConfiguration: { stepPercent: 25 } }, { steps: '25', stepDurationMs: MIN });
    expect(same.notes[0]).toEqual({ level: 'info', message: "Input 'steps' (25) matches the service's LINEAR configuration; ECS takes the weights from the service." });
  });
});

describe('checkPauseHooks', () => {
  const canary = nativeRolloutPlan({ strategy: 'CANARY', canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: 0 } }, { steps: '', stepDurationMs: 20 * MIN }).plan;
  const blueGreen = nativeRolloutPlan({ strategy: 'BLUE_GREEN', bakeTimeInMinutes: 5 }, { steps: '', stepDurationMs: 5 * MIN }).plan;

  it('needs a PAUSE hook before every step after the first for canary and linear', () => {
    const lambdaOnly = { strategy: 'CANARY' as const, lifecycleHooks: [{ targetType: 'AWS_LAMBDA' as const, hookTargetArn: 'arn:aws:lambda:us-east-1:1:function:f', lifecycleStages: ['PRE_PRODUCTION_TRAFFIC_SHIFT' as const] }] };
    const err = (() => {
      try {
        checkPauseHooks(lambdaOnly, canary, 'platform/mcp-proxy');
      } catch (e) {
        return e as UserError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(UserError);
    expect(err?.message).toMatch(/has no PAUSE lifecycle hook at PRE_PRODUCTION_TRAFFIC_SHIFT, which ecs-deploy needs to hold each step \(10%\) until its analysis has passed/);
    expect(err?.hint).toMatch(/lifecycleHooks: \[\{ targetType: PAUSE, lifecycleStages: \[PRE_PRODUCTION_TRAFFIC_SHIFT\]/);
    expect(() => checkPauseHooks({ strategy: 'CANARY', lifecycleHooks: [{ targetType: 'PAUSE', lifecycleStages: ['PRE_PRODUCTION_TRAFFIC_SHIFT'] }] }, canary, 'x')).not.toThrow();
  });

  it('needs one after the switch for blue/green', () => {
    expect(() => checkPauseHooks({ strategy: 'BLUE_GREEN', lifecycleHooks: [{ targetType: 'PAUSE', lifecycleStages: ['POST_SCALE_UP'] }] }, blueGreen, 'x')).toThrow(/no PAUSE lifecycle hook at POST_PRODUCTION_TRAFFIC_SHIFT/);
    expect(() => checkPauseHooks({ strategy: 'BLUE_GREEN', lifecycleHooks: [{ targetType: 'PAUSE', lifecycleStages: ['POST_PRODUCTION_TRAFFIC_SHIFT'] }] }, blueGreen, 'x')).not.toThrow();
  });

  it('refuses a hook that would time out before the analysis of its step ends', () => {
    const short = { strategy: 'CANARY' as const, lifecycleHooks: [{ targetType: 'PAUSE' as const, lifecycleStages: ['PRE_PRODUCTION_TRAFFIC_SHIFT' as const], timeoutConfiguration: { timeoutInMinutes: 10, action: 'CONTINUE' as const } }] };
    expect(() => checkPauseHooks(short, canary, 'platform/mcp-proxy')).toThrow(/times out after 10 min with action CONTINUE: ECS would then continue the deployment on its own, before ecs-deploy has judged the step \(up to 20m: 20m bake\)/);
    const rollback = { ...short, lifecycleHooks: [{ ...short.lifecycleHooks[0], timeoutConfiguration: { timeoutInMinutes: 10, action: 'ROLLBACK' as const } }] };
    expect(() => checkPauseHooks(rollback, canary, 'x')).toThrow(/times out after 10 min \(ECS then takes its timeout action, ROLLBACK\), before the analysis of a step \(up to 20m: 20m bake\) can end/);
  });

  it('counts the analysis extension and one more run when the hook must outlast an extended bake', () => {
    const hook = (minutes: number, action: 'CONTINUE' | 'ROLLBACK') => ({
      strategy: 'CANARY' as const,
      lifecycleHooks: [{ targetType: 'PAUSE' as const, lifecycleStages: ['PRE_PRODUCTION_TRAFFIC_SHIFT' as const], timeoutConfiguration: { timeoutInMinutes: minutes, action } }],
    });
    const extend = { onInconclusive: 'extend', maxExtensionMs: 10 * MIN, intervalMs: MIN };
    // 20m bake fits 25 min, but not with 10m of extension and a 1m run.
    expect(() => checkPauseHooks(hook(25, 'CONTINUE'), canary, 'x')).not.toThrow();
    expect(() => checkPauseHooks(hook(25, 'CONTINUE'), canary, 'x', extend)).toThrow(/up to 31m: 20m bake \+ 10m max-extension \+ 1m for the last analysis run\)/);
    expect(() => checkPauseHooks(hook(31, 'CONTINUE'), canary, 'x', extend)).not.toThrow();
    // Without extend the extension does not count.
    expect(() => checkPauseHooks(hook(25, 'ROLLBACK'), canary, 'x', { ...extend, onInconclusive: 'stop' })).not.toThrow();
  });
});
