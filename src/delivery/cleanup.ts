/**
 * What every undo shares: a signal that outlives a cancelled job by its grace, retries
 * until a restore holds or its deadline passes, and the restore itself (one idempotent
 * target call: all traffic to stable, confirmed, then the new side removed).
 */
import type { Clock } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { errorMessage, UserError } from '../util/errors.js';
import { retry } from '../util/retry.js';
import type { RolloutRecord, Target } from './types.js';

export function nowSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}

/**
 * A signal for cleanup work: it outlives the job's signal (a rollback must finish after a
 * cancel), but gives up `graceMs` after the job's signal aborts, or after `timeoutMs`.
 */
export function cleanupSignal(
  jobSignal: AbortSignal | undefined,
  timeoutMs: number,
  graceMs: number,
  clock: Clock,
): { signal: AbortSignal; deadline: number; dispose(): void } {
  const controller = new AbortController();
  const timers: Array<ReturnType<typeof setTimeout>> = [];
  const later = (ms: number, why: string) => {
    const t = setTimeout(() => controller.abort(new Error(why)), ms);
    t.unref?.();
    timers.push(t);
  };
  later(timeoutMs, `gave up after ${formatDuration(timeoutMs)}`);
  const onAbort = () => later(graceMs, `the job was cancelled and the ${formatDuration(graceMs)} grace ran out`);
  if (jobSignal?.aborted) onAbort();
  else jobSignal?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    deadline: clock.now() + timeoutMs,
    dispose: () => {
      timers.forEach(clearTimeout);
      jobSignal?.removeEventListener('abort', onAbort);
    },
  };
}

/** A record another actor is rolling back (phase rolling-back, or an abort request), written within the restore's deadline. */
export function isBeingRolledBack(record: RolloutRecord, now: number, deadlineMs: number): boolean {
  return (record.phase === 'rolling-back' || record.abort?.id === record.id) && now - record.at * 1000 < deadlineMs;
}

export interface RestoreOptions {
  clock: Clock;
  signal: AbortSignal;
  log: (line: string) => void;
  /** Epoch ms on `clock` after which no new attempt starts. */
  deadline: number;
  onRestored?: () => void;
}

/**
 * Retries `fn` with jittered backoff until it succeeds, fails for a reason a retry cannot
 * change (a UserError), or the signal ends it (the restore's deadline, or the cancel grace).
 */
export async function retryUntilDone<T>(
  fn: () => Promise<T>,
  options: { clock: Clock; signal: AbortSignal; log: (line: string) => void; what: string; deadline: number },
): Promise<T> {
  const { clock, signal } = options;
  let attempts = 0;
  let last: unknown;
  try {
    return await retry(
      async () => {
        signal.throwIfAborted();
        attempts++;
        try {
          return await fn();
        } catch (err) {
          last = err;
          throw err;
        }
      },
      {
        attempts: Infinity,
        deadline: options.deadline,
        baseDelayMs: 1000,
        maxDelayMs: 5000,
        jitter: 'equal',
        clock,
        signal,
        isRetryable: (err) => !(err instanceof UserError) && !signal.aborted,
        onRetry: (err, attempt, delay) =>
          options.log(
            `  ${options.what} failed (attempt ${attempt}: ${errorMessage(err)}); trying again in ${formatDuration(delay)}.`,
          ),
      },
    );
  } catch (err) {
    // Only the call's own last failure is explained; a UserError and a cancelled wait pass as they are.
    if (err !== last || err instanceof UserError) throw err;
    const why = signal.aborted
      ? signal.reason instanceof Error
        ? signal.reason.message
        : 'it was stopped'
      : 'its deadline passed';
    throw new Error(
      `${options.what} did not succeed after ${attempts} attempt(s) (${why}); last error: ${errorMessage(err)}`,
      { cause: err },
    );
  }
}

/**
 * Puts all traffic back on stable and removes the new side, as one idempotent target call
 * retried until it holds (each attempt sets stable to 100% in one change and reads it back
 * before anything is removed) or the signal's deadline passes.
 */
export async function restore(target: Target, record: RolloutRecord, options: RestoreOptions): Promise<void> {
  await retryUntilDone(() => target.rollback(record, options.signal, options.onRestored), {
    ...options,
    what: `returning all traffic to ${record.stable || 'stable'}`,
  });
}
