/**
 * Finishing a rollout someone else left: the engine's start (an earlier run's rollout),
 * the post step (this run's), the rollback action and the reconciler all come here.
 */
import { systemClock, type Clock } from '../util/clock.js';
import { errorMessage } from '../util/errors.js';
import { cleanupSignal, nowSeconds, restore, retryUntilDone } from './cleanup.js';
import { describeRecord } from './record.js';
import type { RecoveryResult, RolloutRecord, Target } from './types.js';

export interface RecoverOptions {
  clock?: Clock;
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Called when all traffic is confirmed back on stable. */
  onRestored?: () => void;
  /** Longest the restore (or the finished promotion) may be retried. Default 10 minutes. */
  timeoutMs?: number;
  /** How long it may still take once the signal aborts (the job is cancelled). Default 6 s. */
  cancelGraceMs?: number;
}

/**
 * Finishes an unfinished rollout from its record: an interrupted promotion is completed
 * (every check had passed), anything else is rolled back. Each is retried with backoff
 * until it holds or its deadline passes. Removes the record.
 */
export async function recoverRollout(
  target: Target,
  record: RolloutRecord,
  options: RecoverOptions = {},
): Promise<RecoveryResult> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (() => undefined);
  const started = clock.now();
  const cleanup = cleanupSignal(options.signal, options.timeoutMs ?? 600_000, options.cancelGraceMs ?? 6_000, clock);
  const signal = cleanup.signal;
  try {
    if (record.phase === 'promoting') {
      log(`Completing the interrupted promotion of ${record.canary} (its checks had passed).`);
      await retryUntilDone(() => target.promote(record, signal), {
        clock,
        signal,
        deadline: cleanup.deadline,
        log,
        what: `promoting ${record.canary}`,
      });
      await retryUntilDone(() => target.saveRecord(undefined, signal), {
        clock,
        signal,
        deadline: cleanup.deadline,
        log,
        what: 'removing the rollout record',
      });
      return { record, action: 'promoted', durationMs: clock.now() - started };
    }
    log(
      `Rolling back ${record.id}: all traffic to ${record.stable || 'the stable version'}, then removing ${record.canary || 'the new version'}.`,
    );
    const rollingBack: RolloutRecord = { ...record, phase: 'rolling-back', at: nowSeconds(clock) };
    delete rollingBack.abort;
    try {
      await target.saveRecord(rollingBack, signal);
    } catch (err) {
      log(`Could not mark the record rolling-back (${errorMessage(err)}); restoring stable anyway.`);
    }
    await restore(target, rollingBack, {
      clock,
      signal,
      deadline: cleanup.deadline,
      log,
      ...(options.onRestored ? { onRestored: options.onRestored } : {}),
    });
    await retryUntilDone(() => target.saveRecord(undefined, signal), {
      clock,
      signal,
      deadline: cleanup.deadline,
      log,
      what: 'removing the rollout record',
    });
    return { record, action: 'rolled-back', durationMs: clock.now() - started };
  } finally {
    cleanup.dispose();
  }
}

export interface InterruptionOptions extends RecoverOptions {
  /** Only rollouts written by this run are recovered; another run's rollout is left alone. */
  runId?: string;
}

/**
 * What a `post:` step does: if the main step left a rollout of this run unfinished
 * (cancelled, killed, or failed mid-rollout), finish it. A held rollout (rollback-on-failure
 * false) is left as the user asked, and so is a paused one (it waits for a resume).
 * Returns undefined when there was nothing to do.
 */
export async function recoverInterrupted(
  target: Target,
  options: InterruptionOptions = {},
): Promise<RecoveryResult | undefined> {
  const log = options.log ?? (() => undefined);
  const record = await target.loadRecord(options.signal);
  if (!record) return undefined;
  if (options.runId && record.run && record.run !== options.runId) {
    log(`Found ${describeRecord(record)}, which belongs to another run: leaving it alone.`);
    return undefined;
  }
  if (record.abort?.id === record.id) {
    log(`Found ${describeRecord(record)}, which ${record.abort.by} asked to stop: leaving it to them.`);
    return undefined;
  }
  if (record.phase === 'held') {
    log(
      `Found ${describeRecord(record)}: left as it is because rollback-on-failure is false. Run the rollback action to undo it.`,
    );
    return undefined;
  }
  if (record.phase === 'paused') {
    // The main step paused it on purpose (or a resume never took it): it waits for a resume, the rollback action or, past its deadline, the reconciler.
    log(`Found ${describeRecord(record)}: left paused for a resume; the rollback action aborts it.`);
    return undefined;
  }
  log(`Found an unfinished ${describeRecord(record)}.`);
  return recoverRollout(target, record, options);
}
