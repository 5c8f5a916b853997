/**
 * When the rollout is no longer this run's to drive (someone aborted it, removed its record,
 * took the service over or moved traffic): undo a shift that may have landed after their
 * restore, make sure a failure of our own is still ours to undo, and end the run without
 * touching traffic.
 */
import { errorMessage } from '../util/errors.js';
import { nowSeconds, retryUntilDone } from './cleanup.js';
import { lookAgain } from './ownership.js';
import type { RolloutRun } from './rollout-run.js';
import type { RolloutResult, Yielded } from './types.js';

/**
 * Someone asked this rollout to stop (or took the service) while its last shift was in
 * flight: that shift may have landed after their restore. Put traffic back on stable in
 * one call (never further forward), then yield.
 */
export async function ensureLateShiftUndone(run: RolloutRun): Promise<void> {
  const { target, clock, signal, log } = run;
  let found: Yielded | undefined;
  try {
    found = await lookAgain(target, run.record, undefined, clock, signal, run.recordKept);
  } catch (err) {
    if (signal.aborted) throw err;
    log(`Could not read the rollout record after the shift (${errorMessage(err)}); checking again at the next step.`);
    return;
  }
  if (!found) return;
  if (found.kind === 'aborted' || found.kind === 'gone') {
    run.event(
      'note',
      `${found.message} This rollout's last shift may have landed after that: putting all traffic back on stable in one call.`,
    );
    const cleanup = run.undoSignal();
    try {
      await retryUntilDone(() => target.shift(0, cleanup.signal), {
        clock,
        signal: cleanup.signal,
        deadline: cleanup.deadline,
        log,
        what: 'putting traffic back on stable',
      });
      run.event('restored', 'All traffic is back on stable after the late shift.', 0);
    } finally {
      cleanup.dispose();
    }
  }
  run.stopFor(found);
}

/**
 * A failure of our own (not a yield, not a cancel): before undoing anything, makes sure the
 * rollout is still ours to undo. Records in `run.yielded` what says it is not; traffic
 * moved by someone else is not such a finding here (the rollback undoes it too).
 */
export async function checkStillOursToUndo(run: RolloutRun): Promise<void> {
  try {
    const found = await lookAgain(run.target, run.record, undefined, run.clock, undefined, run.recordKept);
    if (found && found.kind !== 'traffic') run.yielded = found;
  } catch (lookErr) {
    run.log(`Could not read the rollout record again before rolling back (${errorMessage(lookErr)}); rolling back.`);
  }
}

/** Ends the run for `y` without touching traffic; a traffic change by someone else leaves the record held. */
export async function yieldTo(
  run: RolloutRun,
  y: Yielded,
  where: string,
  extraFields: Partial<RolloutResult>,
): Promise<RolloutResult> {
  const { target, clock, options } = run;
  run.yielded = y;
  if (y.kind === 'traffic') {
    // Still this run's record: held, so neither the post step nor the next run moves traffic the person just set.
    try {
      await run.writes.run(async () => {
        run.record = { ...run.record, phase: 'held', at: nowSeconds(clock) };
        delete run.record.lease;
        await target.saveRecord(run.record, options.signal);
      });
    } catch (err) {
      run.log(`Could not mark the rollout record held: ${errorMessage(err)}`);
    }
  }
  const message = `Stopped${where} without touching traffic: ${y.message}`;
  run.event('note', message);
  const status = y.kind === 'aborted' ? 'rolled-back' : 'failed';
  const advice =
    y.kind === 'aborted'
      ? ' Whoever aborted it returns traffic to stable and removes the new version.'
      : y.kind === 'traffic'
        ? ' The record is marked held: look at the weights, then run the rollback action (or deploy again) when the service is as it should be.'
        : ' This run leaves the service to whoever took it over.';
  return run.result(status, `${message}${advice}`, {
    ...extraFields,
    yielded: y,
    failure: { trigger: 'yielded', detectedAt: y.at },
  });
}
