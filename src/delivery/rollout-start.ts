/**
 * What a run settles before its own rollout, about a record it finds on the target: waits
 * for a rollback under way rather than race it, refuses a paused rollout within its
 * deadline and one whose owner still drives it, and finishes anything else first
 * (`recoverRollout`). With `resume`, the record is left for the resume to check.
 */
import type { Clock } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { poll } from '../util/poll.js';
import { isBeingRolledBack } from './cleanup.js';
import type { RolloutOptions } from './engine-options.js';
import { refuseLiveOwner } from './ownership.js';
import { describeRecord } from './record.js';
import { recoverRollout } from './recovery.js';
import { refusePaused } from './rollout-pause.js';
import type { Timeline } from './rollout-timeline.js';
import type { RecoveryResult, RolloutRecord } from './types.js';

export interface EarlierRollout {
  /** The record found (after any rollback under way finished); what a resume takes over. */
  existing: RolloutRecord | undefined;
  /** How an unfinished rollout found was finished, when one was. */
  recovered: RecoveryResult | undefined;
}

export async function settleEarlierRollout(
  options: RolloutOptions,
  clock: Clock,
  log: (line: string) => void,
  timeline: Timeline,
): Promise<EarlierRollout> {
  const { target } = options;
  let recovered: RecoveryResult | undefined;
  let existing = await target.loadRecord(options.signal);
  if (existing && !options.resume && isBeingRolledBack(existing, clock.now(), options.rollbackTimeoutMs ?? 600_000)) {
    // A rollback (the rollback action, another run's recovery) is under way: wait for it rather than race it.
    timeline.add(
      'recover',
      `${target.description} is being rolled back (${describeRecord(existing)}); waiting until that is done before this rollout.`,
    );
    const deadline = options.rollbackTimeoutMs ?? 600_000;
    existing = await poll(
      async () => {
        const now = await target.loadRecord(options.signal);
        return !now || !isBeingRolledBack(now, clock.now(), deadline)
          ? { done: true, value: now }
          : { done: false, status: describeRecord(now) };
      },
      {
        what: `the rollback of ${target.description} to finish`,
        timeoutMs: deadline,
        initialDelayMs: 1000,
        maxDelayMs: 5000,
        clock,
        ...(options.signal ? { signal: options.signal } : {}),
      },
    );
  }
  if (!options.resume && existing?.phase === 'paused') {
    refusePaused(target, existing, clock.now());
    log(
      `The paused ${describeRecord(existing)} ran out at ${new Date((existing.pauseUntil ?? 0) * 1000).toISOString()} without a resume: it is abandoned.`,
    );
  }
  if (existing && !options.resume) {
    const why = await refuseLiveOwner(target.description, existing, {
      now: clock.now(),
      ...(options.runId ? { runId: options.runId } : {}),
      ...(options.ownerAlive ? { ownerAlive: options.ownerAlive } : {}),
      log,
    });
    timeline.add(
      'recover',
      `Found an unfinished ${describeRecord(existing)}; ${why}. Finishing it before this rollout.`,
    );
    recovered = await recoverRollout(target, existing, {
      clock,
      ...(options.signal ? { signal: options.signal } : {}),
      log,
      ...(options.rollbackTimeoutMs ? { timeoutMs: options.rollbackTimeoutMs } : {}),
    });
    timeline.add(
      'recover',
      `The earlier rollout ${existing.id} was ${recovered.action} in ${formatDuration(recovered.durationMs)}.`,
    );
  }
  return { existing, recovered };
}
