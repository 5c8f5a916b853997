/**
 * What a resume checks before it takes a paused rollout over, changing nothing: the record
 * is paused, not asked to stop, within its deadline and fits the job's steps; the target
 * adopted it, the job's verify accepted it, traffic is where the pause left it and the
 * canary can take more.
 */
import { formatDuration } from '../util/duration.js';
import { UserError } from '../util/errors.js';
import type { RolloutOptions } from './engine-options.js';
import { describePlan } from './plan.js';
import { describeRecord } from './record.js';
import type { RolloutRecord, Target } from './types.js';

export async function checkResumable(
  target: Target,
  paused: RolloutRecord | undefined,
  options: Pick<RolloutOptions, 'plan' | 'resume' | 'signal'>,
  now: number,
): Promise<RolloutRecord> {
  const { plan } = options;
  const hint = 'Deploy with resume: false to start a new rollout, or run the rollback action to undo what is there.';
  if (!paused) {
    throw new UserError(
      `${target.description} has no paused rollout to resume (no rollout record on it). Nothing was changed.`,
      hint,
    );
  }
  if (paused.phase !== 'paused') {
    throw new UserError(
      `${target.description} carries ${describeRecord(paused)}, which is not paused, so there is nothing to resume. Nothing was changed.`,
      paused.phase === 'held'
        ? 'It is held after a failed check: look at it, then run the rollback action.'
        : 'If its run is still going, wait for it; otherwise run the rollback action (or deploy again, which finishes it first).',
    );
  }
  if (paused.abort?.id === paused.id) {
    throw new UserError(
      `The paused ${describeRecord(paused)} was asked to stop by ${paused.abort.by}. Nothing was changed.`,
      'Let the rollback finish (run the rollback action again if it did not), then deploy again.',
    );
  }
  if (paused.pauseUntil !== undefined && paused.pauseUntil * 1000 <= now) {
    throw new UserError(
      `The pause of ${describeRecord(paused)} ran out ${formatDuration(now - paused.pauseUntil * 1000)} ago, so it is no longer resumed. Nothing was changed.`,
      'Run the rollback action (the scheduled reconciler also rolls it back), then deploy again; raise pause-timeout if reviews take longer.',
    );
  }
  const next = paused.step + 1;
  if (next >= plan.steps.length || (plan.steps[paused.step]?.weight ?? paused.weight) !== paused.weight) {
    throw new UserError(
      `The paused rollout ${paused.id} holds ${paused.weight}% at step ${paused.step + 1}, which does not fit this job's steps (${describePlan(plan)}). Nothing was changed.`,
      'Give the resuming job the same steps input as the job that paused it.',
    );
  }
  if (!target.adopt)
    throw new UserError(
      `${target.description}: the ${target.engine} engine cannot resume a paused rollout. Nothing was changed.`,
      'Run the rollback action to undo it.',
    );
  await target.adopt(paused, options.signal);
  await options.resume?.verify?.(paused, options.signal);
  if (target.observe) {
    const seen = await target.observe(options.signal);
    if (seen.traffic && seen.traffic.canary !== paused.weight) {
      throw new UserError(
        `The paused rollout ${paused.id} left ${paused.weight}% on the new version, and ${seen.traffic.canary}% is there now${seen.traffic.detail ? ` (${seen.traffic.detail})` : ''}: traffic was changed while it was paused. Nothing was changed.`,
        'Look at who changed the weights; run the rollback action to return to stable, then deploy again.',
      );
    }
    if (seen.canaryReady === false) {
      throw new UserError(
        `The paused canary cannot take more traffic: ${seen.reason ?? 'it has no healthy capacity'}. Nothing was changed.`,
        'Run the rollback action to return all traffic to stable, then deploy again.',
      );
    }
  }
  return paused;
}
