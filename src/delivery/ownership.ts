/**
 * One owner per rollout. The run that writes a rollout record owns it while its lease
 * lasts; it renews the lease and, before every change and while it waits or bakes, checks
 * that the record is still its own, that nobody asked it to stop, and that traffic is
 * where it put it. When any of that is no longer true it yields: it stops at once and
 * leaves traffic to whoever acted.
 */
import type { Clock } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { errorMessage, UserError } from '../util/errors.js';
import { describeRecord } from './record.js';
import type { RolloutRecord, Target, Yielded } from './types.js';

/** Whether the owner of a record found at the start of a run may still be driving it. */
export type OwnerState = { alive: true; why: string } | { alive: false; why: string };

export interface OwnerCheck {
  /** This run (`4242.1`), when known. */
  runId?: string;
  now: number;
  /** Asks GitHub whether the record's run is still going; undefined when it cannot tell. */
  ownerAlive?: (record: RolloutRecord) => Promise<boolean | undefined>;
  log?: (line: string) => void;
}

/** `4242.1` → run 4242, attempt 1. */
function runParts(run: string): { id: string; attempt: string } {
  const [id = '', attempt = '1'] = run.split('.');
  return { id, attempt };
}

/**
 * Decides whether another actor may still be driving the rollout a record describes:
 * a held rollout waits for a human (not driven); a record of this run's earlier attempt
 * belongs to a finished attempt; GitHub's word on the run wins where it is asked; the
 * lease decides otherwise. Records without a lease come from versions that had none and
 * are treated as abandoned, as they always were.
 */
export async function ownerState(record: RolloutRecord, check: OwnerCheck): Promise<OwnerState> {
  if (record.phase === 'held') return { alive: false, why: 'it is held for a human after a failed check' };
  if (record.run && check.runId) {
    const theirs = runParts(record.run);
    const mine = runParts(check.runId);
    if (theirs.id === mine.id && theirs.attempt !== mine.attempt)
      return { alive: false, why: `it was written by attempt ${theirs.attempt} of this run, which has ended` };
    if (record.run === check.runId) return { alive: false, why: 'it was written earlier in this job' };
  }
  if (record.run && check.ownerAlive) {
    try {
      const alive = await check.ownerAlive(record);
      if (alive === true) return { alive: true, why: `GitHub reports run ${record.run} as still in progress` };
      if (alive === false) return { alive: false, why: `GitHub reports run ${record.run} as finished` };
    } catch (err) {
      check.log?.(
        `Could not ask GitHub whether run ${record.run} is still going (${errorMessage(err)}); deciding by the record's lease.`,
      );
    }
  }
  if (record.lease === undefined) return { alive: false, why: 'it carries no lease (written by an older version)' };
  const left = record.lease * 1000 - check.now;
  return left > 0
    ? { alive: true, why: `its lease runs for another ${formatDuration(left)}` }
    : { alive: false, why: `its lease ran out ${formatDuration(-left)} ago` };
}

/**
 * Before a run finishes another run's rollout: refuses (a UserError, nothing changed) while
 * that rollout's owner may still be driving it; otherwise says why it is free to take.
 */
export async function refuseLiveOwner(description: string, record: RolloutRecord, check: OwnerCheck): Promise<string> {
  const owner = await ownerState(record, check);
  if (owner.alive) {
    throw new UserError(
      `${description} is in the middle of ${describeRecord(record)}, and its owner is still driving it (${owner.why}). Nothing was changed.`,
      'Wait for that run to finish (a deploy job in a queue: max concurrency group waits by itself), or stop it with the rollback action, which takes a live rollout over and returns all traffic to stable.',
    );
  }
  return owner.why;
}

/**
 * What the owner finds when it looks again: undefined while the rollout is still its own
 * and traffic is where it put it; otherwise why it must yield.
 */
export async function lookAgain(
  target: Target,
  mine: RolloutRecord,
  expectedWeight: number | undefined,
  clock: Clock,
  signal?: AbortSignal,
  /** False while the record has never been read back (a Deployment the rollout's own manifests create has none yet). */
  recordKept = true,
): Promise<Yielded | undefined> {
  const at = clock.now();
  const live = await target.loadRecord(signal);
  if (!live) {
    const abort = await target.loadAbort?.(signal);
    if (abort?.id === mine.id)
      return { kind: 'aborted', at, message: `Aborted by ${abort.by} at ${new Date(abort.at * 1000).toISOString()}.` };
    if (!recordKept) return undefined;
  }
  if (!live)
    return {
      kind: 'gone',
      at,
      message: `The rollout record of ${mine.id} was removed from the service by someone else (the rollback action, another run or a hand edit).`,
    };
  if (live.abort?.id === mine.id)
    return {
      kind: 'aborted',
      at,
      message: `Aborted by ${live.abort.by} at ${new Date(live.abort.at * 1000).toISOString()}.`,
    };
  if (live.id !== mine.id) {
    return {
      kind: 'taken',
      at,
      message: `The service now carries the record of rollout ${live.id}${live.run ? ` (run ${live.run})` : ''}, not this one: another run took the service over.`,
    };
  }
  if (live.phase === 'rolling-back' && mine.phase !== 'rolling-back') {
    return {
      kind: 'aborted',
      at,
      message: `Someone else started rolling rollout ${mine.id} back${live.run && live.run !== mine.run ? ` (run ${live.run})` : ''}.`,
    };
  }
  if (expectedWeight !== undefined && target.observe) {
    const seen = await target.observe(signal);
    if (seen.traffic && seen.traffic.canary !== expectedWeight) {
      return {
        kind: 'traffic',
        at,
        message: `Traffic was changed outside this rollout: it set ${expectedWeight}% on the new version, and ${seen.traffic.canary}% is there now${seen.traffic.detail ? ` (${seen.traffic.detail})` : ''}.`,
      };
    }
  }
  return undefined;
}

/** The error that stops a rollout whose owner must yield; carries why. */
export class YieldError extends Error {
  constructor(readonly yielded: Yielded) {
    super(yielded.message);
    this.name = 'YieldError';
  }
}

/** Runs async work one at a time, in order (record writes of the main flow and the heartbeat). */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
