/**
 * The way forward: create the new side and wait until it is healthy, then each step of the
 * plan: shift (the record first, then the weight, confirmed by reading it back), bake (the
 * analysis judges the step from the moment its weight was confirmed), pause where the plan
 * says; then promote.
 */
import type { AnalysisRun, BakeResult, Subjects } from '../analysis/types.js';
import { formatDuration } from '../util/duration.js';
import { errorMessage, UserError } from '../util/errors.js';
import { describePlan } from './plan.js';
import { RolloutFailure } from './rollout-failure.js';
import { pauseAt } from './rollout-pause.js';
import type { RolloutRun } from './rollout-run.js';
import { ensureLateShiftUndone } from './rollout-yield.js';
import type { RolloutResult, Step, StepOutcome, Target, Traffic } from './types.js';

/** A step whose weight was read back: when, and what was there. */
type ConfirmedStep = StepOutcome & { traffic: Traffic; confirmedAt: number };

/** Subjects for a step: no baseline once the stable side has no traffic left to compare with. */
function subjectsAt(target: Target, canaryWeight: number): Subjects {
  const subjects = target.subjects();
  if (canaryWeight >= 100 || !subjects.baseline) return { canary: subjects.canary };
  return subjects;
}

function describeRun(run: AnalysisRun, index: number, since: number): string {
  const offset = formatDuration(Date.parse(run.window.end) - since);
  const notable = run.checks.filter((c) => c.verdict !== 'pass');
  const detail = (notable.length ? notable : run.checks).map((c) => c.reason).join('; ');
  return `  analysis run ${index} (+${offset}): ${run.verdict}${detail ? ` — ${detail}` : ''}`;
}

/** Drives the rollout from its start (or the step after a resumed pause) to promotion or a pause. */
export async function driveSteps(
  run: RolloutRun,
  resuming: boolean,
  extra: Partial<RolloutResult>,
): Promise<RolloutResult> {
  const { target, plan } = run;
  const first = resuming ? run.record.step + 1 : 0;
  if (resuming) {
    run.event(
      'start',
      `Resuming the paused ${plan.strategy} rollout ${run.record.id} of ${target.description} at step ${first + 1}/${plan.steps.length}: ${run.record.weight}% on ${run.record.canary} (confirmed), then ${describePlan({ ...plan, steps: plan.steps.slice(first) })}.`,
      run.record.weight,
    );
  } else {
    run.event(
      'start',
      `Starting a ${plan.strategy} rollout (${run.deploymentId}) of ${target.description}: ${describePlan(plan)}.`,
    );
    await createNewSide(run);
  }

  for (const [index, step] of plan.steps.entries()) {
    if (index < first) continue;
    run.stepIndex = index;
    const confirmed = await shiftStep(run, index, step);
    const pauseHere = step.pause === true && index < plan.steps.length - 1;
    if (step.bakeMs > 0) await bakeStep(run, index, step, confirmed);
    if (pauseHere) return await pauseAt(run, index, confirmed.traffic.canary, extra);
  }

  return promote(run, resuming, first, extra);
}

/** Creates the new side beside stable (recorded) and waits until it is healthy; unhealthy is a RolloutFailure. */
async function createNewSide(run: RolloutRun): Promise<void> {
  const { target, options, signal } = run;
  const sides = await target.create(run.deploymentId, options.signal);
  await run.save({ stable: sides.stable, canary: sides.canary });
  run.event('created', `New version ${sides.canary} created beside ${sides.stable}; waiting until it is healthy.`);
  try {
    await target.waitHealthy(signal);
  } catch (err) {
    if (signal.aborted) throw err;
    throw new RolloutFailure(
      'unhealthy',
      `The new version did not become healthy: ${err instanceof UserError ? err.describe() : errorMessage(err)}`,
    );
  }
  run.healthy = true;
  run.event('healthy', `New version ${sides.canary} is healthy.`);
}

/**
 * Step `index`: checks the new side can take traffic, records the step's weight, shifts
 * and reads it back (the bake clock starts at that confirmation), then looks again in case
 * someone stopped the rollout while the shift was in flight.
 */
async function shiftStep(run: RolloutRun, index: number, step: Step): Promise<ConfirmedStep> {
  const { target, plan, clock, options, signal } = run;
  if (step.weight > 0 && target.observe) {
    const seen = await target.observe(signal);
    if (seen.canaryReady === false) {
      throw new RolloutFailure(
        'unhealthy',
        `The new version cannot take ${step.weight}% of traffic: ${seen.reason ?? 'it has no healthy capacity'}.`,
      );
    }
  }
  await run.save({ phase: 'shifting', step: index, weight: Math.max(run.record.weight, step.weight) });
  run.expected = undefined;
  // Not interrupted by a takeover: a shift half sent is worse than one checked right after.
  const traffic = await target.shift(step.weight, options.signal);
  run.expected = traffic.canary;
  const confirmedAt = clock.now();
  const outcome: ConfirmedStep = { index, weight: step.weight, traffic, confirmedAt };
  run.steps.push(outcome);
  run.event(
    'shift',
    `Step ${index + 1}/${plan.steps.length}: ${traffic.canary}% on the new version, ${traffic.stable}% on stable (confirmed${traffic.detail ? `: ${traffic.detail}` : ''}).`,
    traffic.canary,
  );
  await ensureLateShiftUndone(run);
  return outcome;
}

/** Bakes step `index` at its confirmed weight: waits without analysis, else judges it; anything but pass is a RolloutFailure. */
async function bakeStep(run: RolloutRun, index: number, step: Step, confirmed: ConfirmedStep): Promise<void> {
  const { target, analysis, clock, log, signal } = run;
  const { traffic, confirmedAt } = confirmed;
  if (!analysis) {
    run.event('analysis', `Baking ${formatDuration(step.bakeMs)} at ${traffic.canary}% (no analysis configured).`);
    await clock.sleep(step.bakeMs, signal);
    return;
  }
  run.event(
    'analysis',
    `Judging ${traffic.canary}% for ${formatDuration(step.bakeMs)}, a run every ${formatDuration(analysis.intervalMs)}.`,
  );
  let runs = 0;
  const bake: BakeResult = await analysis.bake({
    subjects: subjectsAt(target, traffic.canary),
    durationMs: step.bakeMs,
    since: new Date(confirmedAt),
    // Data from before this rollout's first confirmed shift is never this canary's.
    firstShiftAt: new Date(run.steps[0]?.confirmedAt ?? confirmedAt),
    clock,
    signal,
    onRun: (r) => log(describeRun(r, ++runs, confirmedAt)),
  });
  confirmed.bake = bake;
  run.event('analysis', `Step ${index + 1} analysis: ${bake.verdict}. ${bake.reason}`);
  if (bake.verdict !== 'pass')
    throw new RolloutFailure(
      'analysis',
      `Step ${index + 1} (${traffic.canary}%) analysis ${bake.verdict === 'fail' ? 'failed' : 'was inconclusive'}: ${bake.reason}`,
    );
}

/** Every step passed: records the promotion, promotes, removes the record. */
async function promote(
  run: RolloutRun,
  resuming: boolean,
  first: number,
  extra: Partial<RolloutResult>,
): Promise<RolloutResult> {
  const { target, plan, clock, options } = run;
  await run.save({ phase: 'promoting' });
  run.heartbeat.stop();
  run.event('promote', `Every step passed: promoting ${run.record.canary}.`);
  await target.promote(run.record, options.signal);
  await run.writes.run(() => target.saveRecord(undefined, options.signal));
  run.event(
    'promote',
    target.describePromotion?.(run.record) ??
      `Promoted: ${run.record.canary} takes all traffic; ${run.record.stable} removed.`,
    100,
  );
  return run.result(
    'succeeded',
    resuming
      ? `Resumed and rolled out ${run.record.canary} in ${formatDuration(clock.now() - run.startedAt)} (${describePlan({ ...plan, steps: plan.steps.slice(first) })}).`
      : `Rolled out ${run.record.canary} in ${formatDuration(clock.now() - run.startedAt)} (${describePlan(plan)}).`,
    extra,
  );
}
