import { describe, expect, it } from '@jest/globals';
import { buildPlan, describePlan, firstPause, planDurationMs, planSegment } from '../../../src/delivery/plan.js';
import { UserError } from '../../../src/util/errors.js';

const FIVE_MIN = 300_000;

function refusal(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('expected a UserError');
}

describe('buildPlan', () => {
  it('bakes canary steps before 100% and promotes at 100% without a bake', () => {
    const plan = buildPlan({ strategy: 'canary', steps: '10,50,100', stepDurationMs: FIVE_MIN });
    expect(plan.steps).toEqual([
      { weight: 10, bakeMs: FIVE_MIN },
      { weight: 50, bakeMs: FIVE_MIN },
      { weight: 100, bakeMs: 0 },
    ]);
    expect(describePlan(plan)).toBe('10% for 5m → 50% for 5m → 100%');
    expect(planDurationMs(plan)).toBe(2 * FIVE_MIN);
  });

  it('uses each strategy default when steps is empty', () => {
    expect(buildPlan({ strategy: 'canary', steps: '', stepDurationMs: 1000 }).steps.map((s) => s.weight)).toEqual([
      10, 50, 100,
    ]);
    expect(buildPlan({ strategy: 'linear', steps: '', stepDurationMs: 1000 }).steps.map((s) => s.weight)).toEqual([
      25, 50, 75, 100,
    ]);
    expect(buildPlan({ strategy: 'rolling', steps: '', stepDurationMs: 1000 }).steps).toEqual([
      { weight: 100, bakeMs: 1000 },
    ]);
    expect(buildPlan({ strategy: 'blue-green', steps: '', stepDurationMs: 1000 }).steps).toEqual([
      { weight: 100, bakeMs: 1000 },
    ]);
  });

  it('takes a bake per step, percent signs and spaces', () => {
    const plan = buildPlan({ strategy: 'canary', steps: '5%:1m 25%:10m, 100:2m', stepDurationMs: FIVE_MIN });
    expect(plan.steps).toEqual([
      { weight: 5, bakeMs: 60_000 },
      { weight: 25, bakeMs: 600_000 },
      { weight: 100, bakeMs: 120_000 },
    ]);
  });

  it('reads one linear weight below 100 as the increment', () => {
    const plan = buildPlan({ strategy: 'linear', steps: '30:1m', stepDurationMs: FIVE_MIN });
    expect(plan.steps).toEqual([
      { weight: 30, bakeMs: 60_000 },
      { weight: 60, bakeMs: 60_000 },
      { weight: 90, bakeMs: 60_000 },
      { weight: 100, bakeMs: 0 },
    ]);
  });

  it.each([
    ['10,5,100', 'is not increasing: 5 comes after 10'],
    ['10,50,50,100', 'is not increasing: 50 comes after 50'],
    ['10,50', 'ends at 50%, not 100%'],
    ['0,100', 'has weight 0'],
    ['10,150', 'has weight 150'],
    ['12.5,100', 'has weight 12.5'],
    ['ten,100', "has 'ten', which is not a weight"],
  ])('refuses %s', (steps, message) => {
    const err = refusal(() => buildPlan({ strategy: 'canary', steps, stepDurationMs: 1000 }));
    expect(err.message).toContain(`Input 'steps'`);
    expect(err.message).toContain(message);
    expect(err.hint).toBeDefined();
  });

  it('refuses a bad bake duration, naming the step', () => {
    const err = refusal(() => buildPlan({ strategy: 'canary', steps: '10:soon,100', stepDurationMs: 1000 }));
    expect(err.message).toContain("The bake of step '10:soon' in 'steps' is not a duration: 'soon'");
  });

  it('refuses several steps for strategies that switch at once', () => {
    const err = refusal(() => buildPlan({ strategy: 'blue-green', steps: '50,100', stepDurationMs: 1000 }));
    expect(err.message).toContain('blue-green moves all traffic at once');
    expect(err.hint).toContain('strategy canary or linear');
  });
});

describe('pausing steps', () => {
  it('pauses after a step baked for the step duration (25:pause) or its own bake (25:10m:pause)', () => {
    const plan = buildPlan({ strategy: 'canary', steps: '10:5m,25:pause,100', stepDurationMs: 120_000 });
    expect(plan.steps).toEqual([
      { weight: 10, bakeMs: FIVE_MIN },
      { weight: 25, bakeMs: 120_000, pause: true },
      { weight: 100, bakeMs: 0 },
    ]);
    expect(describePlan(plan)).toBe('10% for 5m → 25% for 2m, then pause → 100%');
    expect(firstPause(plan)).toBe(1);
    expect(buildPlan({ strategy: 'linear', steps: '25%:10m:PAUSE,50,75,100', stepDurationMs: 1000 }).steps[0]).toEqual({
      weight: 25,
      bakeMs: 600_000,
      pause: true,
    });
  });

  it('keeps every earlier form working', () => {
    expect(buildPlan({ strategy: 'canary', steps: '10:2m,50:10m,100', stepDurationMs: 1000 }).steps).toEqual([
      { weight: 10, bakeMs: 120_000 },
      { weight: 50, bakeMs: 600_000 },
      { weight: 100, bakeMs: 0 },
    ]);
    expect(firstPause(buildPlan({ strategy: 'linear', steps: '20', stepDurationMs: 1000 }))).toBe(-1);
  });

  it('splits the plan into the part each job runs', () => {
    const plan = buildPlan({ strategy: 'canary', steps: '10,25:pause,50:pause,100', stepDurationMs: 1000 });
    expect(planSegment(plan).steps.map((s) => s.weight)).toEqual([10, 25]);
    expect(planSegment(plan, 2).steps.map((s) => s.weight)).toEqual([50]);
    expect(planSegment(plan, 3).steps.map((s) => s.weight)).toEqual([100]);
  });

  it('refuses a pause at 100%, a pause in rolling or blue-green, and a linear increment with a pause', () => {
    expect(
      refusal(() => buildPlan({ strategy: 'canary', steps: '10,100:pause', stepDurationMs: 1000 })).message,
    ).toContain('pauses at its last step (100%)');
    expect(
      refusal(() => buildPlan({ strategy: 'blue-green', steps: '100:pause', stepDurationMs: 1000 })).hint,
    ).toContain('blue-green moves all traffic at once, so it cannot pause');
    expect(refusal(() => buildPlan({ strategy: 'linear', steps: '20:pause', stepDurationMs: 1000 })).hint).toContain(
      '20:pause,40,100',
    );
    expect(
      refusal(() => buildPlan({ strategy: 'canary', steps: '10:soon,100', stepDurationMs: 1000 })).message,
    ).toContain("The bake of step '10:soon'");
  });
});
