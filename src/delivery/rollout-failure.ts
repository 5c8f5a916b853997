/**
 * What ends a rollout that did not succeed: a yield (someone else's rollout now), or a
 * failure: a failed or inconclusive bake, an unhealthy new version, a cancelled job or any
 * error mid-rollout. A failure is diagnosed, then rolled back (all traffic to stable in one
 * change, then the new side removed, retried until it holds or its deadline passes), or
 * held when rollback-on-failure is off.
 */
import { formatDuration } from '../util/duration.js';
import { errorMessage, UserError } from '../util/errors.js';
import { restore, retryUntilDone } from './cleanup.js';
import { YieldError } from './ownership.js';
import type { RolloutRun } from './rollout-run.js';
import { checkStillOursToUndo, yieldTo } from './rollout-yield.js';
import type { FailureTrigger, RolloutResult } from './types.js';

/** A failed bake or an unhealthy new version: not an error of the engine, a reason to roll back. */
export class RolloutFailure extends Error {
  constructor(
    readonly trigger: FailureTrigger,
    message: string,
  ) {
    super(message);
    this.name = 'RolloutFailure';
  }
}

/** Ends the run after `err` stopped it: yields, holds or rolls back, and says which. */
export async function endFailedRollout(
  run: RolloutRun,
  err: unknown,
  extra: Partial<RolloutResult>,
): Promise<RolloutResult> {
  const { target, plan, clock, log, options } = run;
  run.heartbeat.stop();
  const detectedAt = clock.now();
  const where =
    run.stepIndex >= 0
      ? ` at step ${run.stepIndex + 1} (${plan.steps[run.stepIndex]?.weight}%)`
      : run.healthy
        ? ''
        : ' before the new version was healthy';
  if (!run.yielded && !(err instanceof YieldError) && !options.signal?.aborted) {
    // A failure of our own: before undoing anything, make sure the rollout is still ours to undo.
    await checkStillOursToUndo(run);
  }
  const y = run.yielded ?? (err instanceof YieldError ? err.yielded : undefined);
  if (y) return yieldTo(run, y, where, extra);

  const trigger: FailureTrigger =
    err instanceof RolloutFailure ? err.trigger : options.signal?.aborted ? 'cancelled' : 'error';
  const why =
    err instanceof RolloutFailure
      ? err.message
      : trigger === 'cancelled'
        ? `The job was cancelled${where}.`
        : `The rollout stopped${where}: ${err instanceof UserError ? err.describe() : errorMessage(err)}`;
  run.event('error', why);

  let diagnosis: string[] | undefined;
  if ((trigger === 'unhealthy' || trigger === 'analysis') && target.diagnose) {
    try {
      diagnosis = await target.diagnose(options.signal);
      if (diagnosis.length) log(`Why the new version looks unhealthy:\n${diagnosis.map((d) => `  - ${d}`).join('\n')}`);
    } catch (diagErr) {
      log(`Could not read why the new version is unhealthy: ${errorMessage(diagErr)}`);
    }
  }
  const failure = { trigger, detectedAt, ...(diagnosis?.length ? { diagnosis } : {}) };

  if (!run.rollbackOnFailure && trigger !== 'cancelled') {
    try {
      await run.write({ phase: 'held' }, options.signal ?? new AbortController().signal, false);
    } catch (saveErr) {
      log(`Could not mark the rollout as held: ${errorMessage(saveErr)}`);
    }
    run.event(
      'note',
      `rollback-on-failure is false: traffic stays where it is (up to ${run.record.weight}% on ${run.record.canary}) for you to look at. Run the rollback action to undo it.`,
    );
    return run.result('failed', `${why} Traffic was left as it is because rollback-on-failure is false.`, {
      ...extra,
      failure,
    });
  }

  const cleanup = run.undoSignal();
  let restoredAt: number | undefined;
  try {
    try {
      await run.write({ phase: 'rolling-back' }, cleanup.signal, false);
    } catch (saveErr) {
      // The restore matters more than the record: go on, the record still says what to undo.
      log(`Could not mark the record rolling-back (${errorMessage(saveErr)}); restoring stable anyway.`);
    }
    run.event(
      'rollback',
      `Rolling back: all traffic to ${run.record.stable || 'the stable version'}, then removing ${run.record.canary || 'the new version'}.`,
    );
    await restore(target, run.record, {
      clock,
      signal: cleanup.signal,
      deadline: cleanup.deadline,
      log,
      onRestored: () => {
        if (restoredAt !== undefined) return;
        restoredAt = clock.now();
        run.event(
          'restored',
          `All traffic is back on ${run.record.stable || 'the stable version'} (${formatDuration(clock.now() - detectedAt)} after the failure was detected).`,
          0,
        );
      },
    });
    restoredAt ??= clock.now();
    await retryUntilDone(() => target.saveRecord(undefined, cleanup.signal), {
      clock,
      signal: cleanup.signal,
      deadline: cleanup.deadline,
      log,
      what: 'removing the rollout record',
    });
    run.event('rollback', `Rolled back: ${run.record.canary || 'the new version'} removed.`);
    return run.result(
      'rolled-back',
      `${why} Rolled back to ${run.record.stable || 'the stable version'}; traffic restored ${formatDuration(restoredAt - detectedAt)} after detection.`,
      {
        ...extra,
        failure: { ...failure, restoredAt, recoveryMs: restoredAt - detectedAt },
      },
    );
  } catch (rollbackErr) {
    const message = `The rollback did not finish: ${rollbackErr instanceof UserError ? rollbackErr.describe() : errorMessage(rollbackErr)}. The rollout record stays on the resource, so the post step, the rollback action or the next run finishes it.`;
    run.event('error', message);
    return run.result('failed', `${why} ${message}`, {
      ...extra,
      failure: {
        ...failure,
        ...(restoredAt !== undefined ? { restoredAt, recoveryMs: restoredAt - detectedAt } : {}),
      },
    });
  } finally {
    cleanup.dispose();
  }
}
