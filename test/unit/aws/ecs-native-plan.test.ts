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
    expect(p.notes).toEqual([
      { level: 'info', message: "Each step is judged for ECS's own bake of 10m (longer than step-duration, 5m)." },
    ]);
  });

  it('judges for step-duration when ECS bakes less, and keeps tenths of a percent', () => {
    const p = nativeRolloutPlan(
      { strategy: 'CANARY', canaryConfiguration: { canaryPercent: 2.5, canaryBakeTimeInMinutes: 0 } },
      { steps: '', stepDurationMs: 90_000 },
    );
    expect(weights(p)).toEqual([2.5, 100]);
    expect(bakes(p)).toEqual([90_000, 0]);
    expect(p.notes[0]?.message).toMatch(
      /ECS bakes a step for 0s; the PAUSE hook holds it until the analysis has judged it for step-duration \(1m30s\)/,
    );
  });

  it('takes linear increments from linearConfiguration, ending at 100 whether or not the step divides it', () => {
    expect(weights(nativeRolloutPlan({ strategy: 'LINEAR' }, { steps: '', stepDurationMs: MIN }))).toEqual([
      10, 20, 30, 40, 50, 60, 70, 80, 90, 100,
    ]);
    expect(
      weights(
        nativeRolloutPlan(
          { strategy: 'LINEAR', linearConfiguration: { stepPercent: 30 } },
          { steps: '', stepDurationMs: MIN },
        ),
      ),
    ).toEqual([30, 60, 90, 100]);
    const fine = weights(
      nativeRolloutPlan(
        { strategy: 'LINEAR', linearConfiguration: { stepPercent: 3.3 } },
        { steps: '', stepDurationMs: MIN },
      ),
    );
    expect(fine).toHaveLength(31);
    expect(fine.slice(-3)).toEqual([95.7, 99, 100]);
    const p = nativeRolloutPlan(
      { strategy: 'LINEAR', linearConfiguration: { stepPercent: 25, stepBakeTimeInMinutes: 2 } },
      { steps: '', stepDurationMs: 5 * MIN },
    );
    expect(bakes(p)).toEqual([5 * MIN, 5 * MIN, 5 * MIN, 0]);
  });

  it('judges blue/green once, after the switch, for step-duration', () => {
    const p = nativeRolloutPlan(
      { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 15 },
      { steps: '', stepDurationMs: 3 * MIN },
    );
    expect(p.plan).toEqual({ strategy: 'blue-green', steps: [{ weight: 100, bakeMs: 3 * MIN }] });
    expect(p.source).toContain('bakeTimeInMinutes 15');
  });

  it('reports a steps input that ECS will not follow, and one that matches', () => {
    const conflict = nativeRolloutPlan(
      { strategy: 'CANARY', canaryConfiguration: { canaryPercent: 10 } },
      { steps: '10,50,100', stepDurationMs: MIN },
    );
    expect(conflict.notes[0]).toEqual({
      level: 'warning',
      message:
        "Input 'steps' (10,50,100) is ignored: ECS shifts the traffic of this service by its own CANARY configuration (10,100). Change the service's deploymentConfiguration.canaryConfiguration to change the steps, or leave 'steps' empty.",
    });
    expect(weights(conflict)).toEqual([10, 100]);
    const same = nativeRolloutPlan(
      { strategy: 'LINEAR', linearConfiguration: { stepPercent: 25 } },
      { steps: '25', stepDurationMs: MIN },
    );
    expect(same.notes[0]).toEqual({
      level: 'info',
      message: "Input 'steps' (25) matches the service's LINEAR configuration; ECS takes the weights from the service.",
    });
  });
});

describe('checkPauseHooks', () => {
  const canary = nativeRolloutPlan(
    { strategy: 'CANARY', canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: 0 } },
    { steps: '', stepDurationMs: 20 * MIN },
  ).plan;
  const blueGreen = nativeRolloutPlan(
    { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 5 },
    { steps: '', stepDurationMs: 5 * MIN },
  ).plan;

  it('needs a PAUSE hook before every step after the first for canary and linear', () => {
    const lambdaOnly = {
      strategy: 'CANARY' as const,
      lifecycleHooks: [
        {
          targetType: 'AWS_LAMBDA' as const,
          hookTargetArn: 'arn:aws:lambda:us-east-1:1:function:f',
          lifecycleStages: ['PRE_PRODUCTION_TRAFFIC_SHIFT' as const],
        },
      ],
    };
    const err = (() => {
      try {
        checkPauseHooks(lambdaOnly, canary, 'platform/mcp-proxy');
      } catch (e) {
        return e as UserError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(UserError);
    expect(err?.message).toMatch(
      /has no PAUSE lifecycle hook at PRE_PRODUCTION_TRAFFIC_SHIFT, which ecs-deploy needs to hold each step \(10%\) until its analysis has passed/,
    );
    expect(err?.hint).toMatch(
      /lifecycleHooks: \[\{ targetType: PAUSE, lifecycleStages: \[PRE_PRODUCTION_TRAFFIC_SHIFT\]/,
    );
    expect(() =>
      checkPauseHooks(
        {
          strategy: 'CANARY',
          lifecycleHooks: [{ targetType: 'PAUSE', lifecycleStages: ['PRE_PRODUCTION_TRAFFIC_SHIFT'] }],
        },
        canary,
        'x',
      ),
    ).not.toThrow();
  });

  it('needs one after the switch for blue/green', () => {
    expect(() =>
      checkPauseHooks(
        { strategy: 'BLUE_GREEN', lifecycleHooks: [{ targetType: 'PAUSE', lifecycleStages: ['POST_SCALE_UP'] }] },
        blueGreen,
        'x',
      ),
    ).toThrow(/no PAUSE lifecycle hook at POST_PRODUCTION_TRAFFIC_SHIFT/);
    expect(() =>
      checkPauseHooks(
        {
          strategy: 'BLUE_GREEN',
          lifecycleHooks: [{ targetType: 'PAUSE', lifecycleStages: ['POST_PRODUCTION_TRAFFIC_SHIFT'] }],
        },
        blueGreen,
        'x',
      ),
    ).not.toThrow();
  });

  it('refuses a hook that would time out before the analysis of its step ends', () => {
    const short = {
      strategy: 'CANARY' as const,
      lifecycleHooks: [
        {
          targetType: 'PAUSE' as const,
          lifecycleStages: ['PRE_PRODUCTION_TRAFFIC_SHIFT' as const],
          timeoutConfiguration: { timeoutInMinutes: 10, action: 'CONTINUE' as const },
        },
      ],
    };
    expect(() => checkPauseHooks(short, canary, 'platform/mcp-proxy')).toThrow(
      /times out after 10 min with action CONTINUE: ECS would then continue the deployment on its own, before ecs-deploy has judged the step \(up to 20m: 20m bake\)/,
    );
    const rollback = {
      ...short,
      lifecycleHooks: [
        { ...short.lifecycleHooks[0], timeoutConfiguration: { timeoutInMinutes: 10, action: 'ROLLBACK' as const } },
      ],
    };
    expect(() => checkPauseHooks(rollback, canary, 'x')).toThrow(
      /times out after 10 min \(ECS then takes its timeout action, ROLLBACK\), before the analysis of a step \(up to 20m: 20m bake\) can end/,
    );
  });

  it('counts the analysis extension and one more run when the hook must outlast an extended bake', () => {
    const hook = (minutes: number, action: 'CONTINUE' | 'ROLLBACK') => ({
      strategy: 'CANARY' as const,
      lifecycleHooks: [
        {
          targetType: 'PAUSE' as const,
          lifecycleStages: ['PRE_PRODUCTION_TRAFFIC_SHIFT' as const],
          timeoutConfiguration: { timeoutInMinutes: minutes, action },
        },
      ],
    });
    const extend = { onInconclusive: 'extend', maxExtensionMs: 10 * MIN, intervalMs: MIN };
    // 20m bake fits 25 min, but not with 10m of extension and a 1m run.
    expect(() => checkPauseHooks(hook(25, 'CONTINUE'), canary, 'x')).not.toThrow();
    expect(() => checkPauseHooks(hook(25, 'CONTINUE'), canary, 'x', extend)).toThrow(
      /up to 31m: 20m bake \+ 10m max-extension \+ 1m for the last analysis run\)/,
    );
    expect(() => checkPauseHooks(hook(31, 'CONTINUE'), canary, 'x', extend)).not.toThrow();
    // Without extend the extension does not count.
    expect(() =>
      checkPauseHooks(hook(25, 'ROLLBACK'), canary, 'x', { ...extend, onInconclusive: 'stop' }),
    ).not.toThrow();
  });
});

describe('pauses of a native canary', () => {
  const hooks = (timeoutInMinutes?: number, action: 'CONTINUE' | 'ROLLBACK' = 'ROLLBACK') => ({
    strategy: 'CANARY' as const,
    canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: 0 },
    lifecycleHooks: [
      {
        targetType: 'PAUSE' as const,
        lifecycleStages: ['PRE_PRODUCTION_TRAFFIC_SHIFT' as const, 'POST_PRODUCTION_TRAFFIC_SHIFT' as const],
        ...(timeoutInMinutes !== undefined ? { timeoutConfiguration: { timeoutInMinutes, action } } : {}),
      },
    ],
  });
  const plan = (steps: string) => nativeRolloutPlan(hooks(60), { steps, stepDurationMs: 5 * MIN });
  const refusal = (f: () => void): UserError | undefined => {
    try {
      f();
    } catch (e) {
      return e as UserError;
    }
    return undefined;
  };

  it('puts the pause on the service step of the same weight, and keeps ECS weights', () => {
    expect(plan('10:pause,100').plan.steps).toEqual([
      { weight: 10, bakeMs: 5 * MIN, pause: true },
      { weight: 100, bakeMs: 0 },
    ]);
    // Other weights are ECS's to decide: reported, the pause kept.
    const differing = plan('5,10:2m:pause,100');
    expect(differing.plan.steps[0]).toEqual({ weight: 10, bakeMs: 5 * MIN, pause: true });
    expect(differing.notes[0]?.message).toMatch(
      /^Input 'steps' \(5,10:2m:pause,100\) is ignored but for its pause at 10%: ECS shifts/,
    );
  });

  it('refuses a pause at a weight the service does not step through, at 100%, or at 50/50', () => {
    expect(refusal(() => plan('25:pause,100'))?.message).toMatch(
      /pauses at 25%, but ECS shifts the traffic of this service by its own CANARY configuration \(10,100\), which has no 25% step\. Nothing was changed\./,
    );
    expect(refusal(() => plan('25:pause,100'))?.hint).toContain('steps: 10:pause,100');
    expect(refusal(() => plan('10,100:pause'))?.message).toMatch(/reaching 100% is the promotion/);
    const half = refusal(() =>
      nativeRolloutPlan(
        { strategy: 'LINEAR', linearConfiguration: { stepPercent: 25 } },
        { steps: '25,50:pause,75,100', stepDurationMs: MIN },
      ),
    );
    expect(half?.message).toMatch(
      /pauses at 50%: with 50% on each of the service's two target groups, a resuming job could not tell/,
    );
    expect(half?.hint).toContain('25, 75');
    expect(
      refusal(() =>
        nativeRolloutPlan(
          { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 1 },
          { steps: '100:pause', stepDurationMs: MIN },
        ),
      )?.hint,
    ).toMatch(/BLUE_GREEN moves all traffic at once, so it cannot pause/);
  });

  it('needs the PAUSE hook before the next step to outlast the judged step plus pause-timeout, with ROLLBACK', () => {
    const p = plan('10:pause,100').plan;
    const judging = { intervalMs: MIN, pauseTimeoutMs: 2 * 60 * MIN };
    // 5m bake + 1m run + 2h = 126 min.
    expect(() => checkPauseHooks(hooks(126), p, 'x', judging)).not.toThrow();
    const short = refusal(() => checkPauseHooks(hooks(125), p, 'platform/mcp-proxy', judging));
    expect(short?.message).toBe(
      'steps pause at 10% for up to pause-timeout (2h) after the step is judged (up to 6m), 2h6m in all, but the PAUSE hook at PRE_PRODUCTION_TRAFFIC_SHIFT of ECS service platform/mcp-proxy times out after 125 min (2h5m) and ECS would then roll the canary back before the pause ends. Nothing was changed.',
    );
    expect(short?.hint).toBe(
      "Raise the hook's timeoutConfiguration.timeoutInMinutes to 126 or more (ECS allows up to 20160, 14 days), or lower pause-timeout to 1h59m or less.",
    );
    // ECS's default hook timeout is 24 hours, so the default pause-timeout (24h) never fits it.
    expect(refusal(() => checkPauseHooks(hooks(), p, 'x', { pauseTimeoutMs: 24 * 60 * MIN }))?.hint).toMatch(
      /timeoutInMinutes to 1445 or more .* or lower pause-timeout to 23h55m or less/,
    );
    // Beyond ECS's maximum only a shorter pause helps.
    expect(refusal(() => checkPauseHooks(hooks(20_160), p, 'x', { pauseTimeoutMs: 14 * 24 * 60 * MIN }))?.hint).toBe(
      'ECS allows a hook timeout of at most 20160 min (14 days), so lower pause-timeout to 13d23h55m or less.',
    );
    // CONTINUE would promote the paused canary by itself when the hook times out.
    expect(refusal(() => checkPauseHooks(hooks(20_000, 'CONTINUE'), p, 'x', judging))?.message).toMatch(
      /has timeout action CONTINUE: when it times out, ECS would move the paused canary on by itself, unapproved/,
    );
    // Without a pause, pause-timeout does not matter.
    expect(() => checkPauseHooks(hooks(30), plan('').plan, 'x', { pauseTimeoutMs: 24 * 60 * MIN })).not.toThrow();
  });
});
