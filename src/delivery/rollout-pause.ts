/**
 * A pause step (`25:pause`) and its end: the run that reaches it holds the canary and ends
 * with the record `paused` (no lease, a deadline for a resume); an ordinary deploy refuses
 * a paused rollout until that deadline; a resuming run adopts it, checked, and takes the
 * record over before it drives the remaining steps.
 */
import { UserError } from '../util/errors.js';
import { nowSeconds } from './cleanup.js';
import { DEFAULT_PAUSE_TIMEOUT_MS } from './engine-options.js';
import { describePlan } from './plan.js';
import { describeRecord } from './record.js';
import { checkResumable } from './resume.js';
import type { RolloutRun } from './rollout-run.js';
import type { RolloutRecord, RolloutResult, Target } from './types.js';

/**
 * What a run that finds a paused rollout where it meant to start its own must do: a pause
 * is a human's decision to hold, so an ordinary deploy neither resumes it nor silently rolls
 * it back. Past its deadline it is abandoned (the reconciler would roll it back), and the
 * run may finish it like any other.
 */
export function refusePaused(target: Target, record: RolloutRecord | undefined, now: number): void {
  if (!record || record.phase !== 'paused') return;
  if (record.pauseUntil !== undefined && record.pauseUntil * 1000 <= now) return;
  throw new UserError(
    `${target.description} holds a paused canary: ${describeRecord(record)}. A new deploy does not replace a paused rollout. Nothing was changed.`,
    `Resume it (this action with resume: true and the same image) to finish it, or abort it with the rollback action (all traffic back on ${record.stable || 'stable'}); then deploy again.`,
  );
}

/**
 * Adopts the paused rollout of `paused` (resume: true): checks it is paused, that its
 * canary is the one this job was given and traffic is where it was left, then makes it
 * this run's record (this run, no pause deadline) at the confirmed weight of its step.
 */
export async function adoptPaused(run: RolloutRun, paused: RolloutRecord | undefined): Promise<RolloutRecord> {
  const { options } = run;
  paused = await checkResumable(run.target, paused, options, run.clock.now());
  run.record = {
    ...paused,
    ...(options.runId ? { run: options.runId } : {}),
    ...(options.githubDeployment !== undefined ? { githubDeployment: options.githubDeployment } : {}),
  };
  delete run.record.pauseUntil;
  delete run.record.abort;
  run.expected = paused.weight;
  run.healthy = true;
  run.stepIndex = paused.step;
  return paused;
}

/** Taking the record over: this run and its lease, checked against what was read (no one else resumed it meanwhile). */
export function takeOverPaused(run: RolloutRun, paused: RolloutRecord | undefined): Promise<void> {
  const { target, clock, signal } = run;
  return run.writes.run(async () => {
    const live = await target.loadRecord(signal);
    if (
      !live ||
      live.id !== run.record.id ||
      live.phase !== 'paused' ||
      live.run !== paused?.run ||
      live.at !== paused?.at
    ) {
      throw new UserError(
        `The record of ${run.record.id} changed while this job was taking it over (${live ? describeRecord(live) : 'it was removed'}): someone else resumed or rolled it back. Nothing was changed.`,
        'Look at the other run; do not resume twice.',
      );
    }
    run.record = { ...run.record, at: nowSeconds(clock), lease: nowSeconds(clock) + Math.ceil(run.leaseMs / 1000) };
    await target.saveRecord(run.record, signal);
  });
}

/**
 * Holds the canary at `weight` after step `index` passed: the record says paused, with
 * the deadline of a resume and no lease (no run drives it now), and the run ends.
 */
export async function pauseAt(
  run: RolloutRun,
  index: number,
  weight: number,
  extraFields: Partial<RolloutResult>,
): Promise<RolloutResult> {
  const { target, plan, clock, signal, options } = run;
  // The lease is still renewed while the platform comes to hold the canary.
  const heldUntil = await target.holdPause?.(signal);
  run.heartbeat.stop();
  let until = clock.now() + (options.pauseTimeoutMs ?? DEFAULT_PAUSE_TIMEOUT_MS);
  if (heldUntil !== undefined && heldUntil < until) {
    run.log(
      `The platform holds the canary only until ${new Date(heldUntil).toISOString()}: the pause ends then, before pause-timeout.`,
    );
    until = heldUntil;
  }
  await run.writes.run(async () => {
    await run.ensureOwned();
    run.record = {
      ...run.record,
      phase: 'paused',
      step: index,
      weight: Math.max(run.record.weight, weight),
      at: nowSeconds(clock),
      pauseUntil: Math.floor(until / 1000),
    };
    delete run.record.lease;
    await target.saveRecord(run.record, signal);
  });
  run.event(
    'note',
    `Paused at step ${index + 1}/${plan.steps.length} with ${weight}% on ${run.record.canary}: every check so far passed. A later job resumes it (resume: true) before ${new Date(until).toISOString()}, or the rollback action aborts it.`,
    weight,
  );
  return run.result(
    'paused',
    `Paused at step ${index + 1}/${plan.steps.length}: ${weight}% on ${run.record.canary} after its checks passed, held until ${new Date(until).toISOString()} for a resume (${describePlan({ ...plan, steps: plan.steps.slice(index + 1) })} left).`,
    {
      ...extraFields,
      paused: { until, nextStep: index + 1, weight },
    },
  );
}
