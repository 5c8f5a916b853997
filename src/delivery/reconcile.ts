/**
 * The reconciler's judgement: what a scheduled run does about each rollout it finds on a
 * service, from the record, the owner's state and the time alone (no cloud, no GitHub).
 * `decide` is pure; `reconcileOne` carries a decision out through a `Target`.
 *
 * - A record (or kept state) that failed validation: reported, never acted on.
 * - `held`: a human's; reported only.
 * - `paused`: past its deadline → roll back; otherwise judged over the last analysis
 *   interval (fail → roll back; pass, inconclusive or no analysis → left).
 * - An owner that is alive and within its lease: left alone, and the summary says why.
 * - An owner that is gone (GitHub says its run ended, or its lease ran out): `promoting`
 *   is promoted (every check had passed), anything else rolled back.
 * - A blue kept by a promoted blue-green rollout past its deadline: retired.
 */
import type { Analysis, AnalysisRun, Subjects } from '../analysis/types.js';
import type { Clock } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { errorMessage } from '../util/errors.js';
import { recoverRollout } from './recovery.js';
import type { OwnerState } from './ownership.js';
import { askToStop } from './rollback.js';
import type { RolloutRecord, Target } from './types.js';

export type ReconcileAction = 'leave' | 'report' | 'roll-back' | 'promote' | 'judge' | 'retire';

/** What a scan found on one service or Deployment. */
export interface Found {
  /** The record, when it passed validation. */
  record?: RolloutRecord;
  /** A blue-green blue kept for instant revert (GKE), and until when (epoch seconds). */
  kept?: { id: string; until: number };
  /** Why the state on the resource was not trusted (then nothing else is set). */
  problem?: string;
}

export interface Decision {
  action: ReconcileAction;
  /** One sentence: why. */
  why: string;
  /** When the owner stopped driving it (epoch ms), where known. */
  ownerGoneAt?: number;
}

export interface DecideInput {
  found: Found;
  /** The owner's state (ownership.ts), for records other than held or paused. */
  owner?: OwnerState;
  /** When the owner's run ended, from GitHub (epoch ms). */
  ownerEndedAt?: number;
  now: number;
}

/** What to do about one finding. */
export function decide({ found, owner, ownerEndedAt, now }: DecideInput): Decision {
  if (found.problem) return { action: 'report', why: `Not acted on: ${found.problem}` };
  const record = found.record;
  if (!record) {
    if (!found.kept) return { action: 'leave', why: 'Nothing unfinished.' };
    const left = found.kept.until * 1000 - now;
    return left > 0
      ? {
          action: 'leave',
          why: `Blue of rollout ${found.kept.id} is kept for instant revert for another ${formatDuration(left)}.`,
        }
      : {
          action: 'retire',
          why: `Blue of rollout ${found.kept.id} was kept until ${iso(found.kept.until)} (${formatDuration(-left)} ago): retiring it.`,
        };
  }
  if (record.phase === 'held')
    return {
      action: 'report',
      why: 'Held for a human after a failed check (rollback-on-failure false): run the rollback action or deploy again once you have looked.',
    };
  if (record.phase === 'paused') {
    if (record.pauseUntil !== undefined && record.pauseUntil * 1000 <= now) {
      return {
        action: 'roll-back',
        why: `Paused until ${iso(record.pauseUntil)}, ${formatDuration(now - record.pauseUntil * 1000)} ago, and nobody resumed it: rolling back.`,
        ownerGoneAt: record.pauseUntil * 1000,
      };
    }
    return {
      action: 'judge',
      why: `Paused at ${record.weight}%${record.pauseUntil !== undefined ? ` until ${iso(record.pauseUntil)}` : ''}: judging the last analysis interval.`,
    };
  }
  if (!owner) return { action: 'report', why: 'Whether its owner is still driving it is not known: left alone.' };
  if (owner.alive) return { action: 'leave', why: `Its owner is still driving it: ${owner.why}.` };
  const goneAt = ownerEndedAt ?? (record.lease !== undefined ? record.lease * 1000 : record.at * 1000);
  if (record.phase === 'promoting')
    return {
      action: 'promote',
      why: `Its owner is gone (${owner.why}) while promoting, after every check passed: finishing the promotion.`,
      ownerGoneAt: goneAt,
    };
  return {
    action: 'roll-back',
    why: `Its owner is gone (${owner.why}) with the rollout ${record.phase} at up to ${record.weight}%: rolling back.`,
    ownerGoneAt: goneAt,
  };
}

function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}

/** How a carried-out decision ended. */
export interface Outcome {
  /** What was done, for the summary: rolled-back, promoted, retired, left, reported, judged-pass, would-roll-back (dry run)... */
  done: string;
  /** One sentence. */
  detail: string;
  /** Restore confirmed (epoch ms), for roll-backs. */
  restoredAt?: number;
  /** False when an action was attempted and did not finish. */
  ok: boolean;
}

export interface CarryOutOptions {
  target?: Target;
  /** Retires a kept blue (GKE blue-green). */
  retire?: (signal?: AbortSignal) => Promise<void>;
  /** Paused canaries: the analysis and the sides' metric labels. */
  analysis?: Analysis;
  subjects?: () => Subjects | Promise<Subjects>;
  dryRun: boolean;
  /** Who acts, for the abort request the owner would see. */
  by: string;
  clock: Clock;
  signal?: AbortSignal;
  log: (line: string) => void;
  /** Longest a restore or promotion is retried. */
  timeoutMs?: number;
}

/** Judges a paused canary over the last interval: the run's verdict and one line. */
export async function judgePaused(
  analysis: Analysis,
  subjects: Subjects,
  record: RolloutRecord,
  clock: Clock,
  signal?: AbortSignal,
): Promise<{ run: AnalysisRun; line: string }> {
  const end = new Date(clock.now());
  const start = new Date(end.getTime() - analysis.intervalMs);
  const run = await analysis.run(subjects, { start, end }, signal);
  const notable = run.checks.filter((c) => c.verdict !== 'pass');
  const line = `${run.verdict} over the last ${formatDuration(analysis.intervalMs)} at ${record.weight}%${(notable.length ? notable : run.checks).length ? `: ${(notable.length ? notable : run.checks).map((c) => c.reason).join('; ')}` : ''}`;
  return { run, line };
}

/** Carries a decision out (or, in a dry run, says what it would do). Never throws: failures come back as `ok: false`. */
export async function carryOut(
  decision: Decision,
  record: RolloutRecord | undefined,
  options: CarryOutOptions,
): Promise<Outcome> {
  const { clock, log } = options;
  let action = decision.action;
  let detail = decision.why;
  try {
    if (action === 'judge') {
      if (!record) return { done: 'left', detail, ok: true };
      if (!options.analysis || !options.subjects)
        return {
          done: 'left',
          detail: `${detail} No analysis applies (give the analysis input): left paused until its deadline.`,
          ok: true,
        };
      const judged = await judgePaused(options.analysis, await options.subjects(), record, clock, options.signal);
      log(`  ${judged.line}`);
      if (judged.run.verdict !== 'fail')
        return {
          done: `judged-${judged.run.verdict}`,
          detail: `Paused canary judged ${judged.line}; left paused.`,
          ok: judged.run.verdict !== 'error',
        };
      action = 'roll-back';
      detail = `Paused canary judged ${judged.line}: rolling back.`;
    }
    if (action === 'leave') return { done: 'left', detail, ok: true };
    if (action === 'report') return { done: 'reported', detail, ok: true };
    if (options.dryRun) return { done: `would-${action}`, detail: `Dry run: ${detail}`, ok: true };
    if (action === 'retire') {
      if (!options.retire)
        return { done: 'reported', detail: `${detail} This platform cannot retire it here.`, ok: false };
      await options.retire(options.signal);
      return { done: 'retired', detail, ok: true };
    }
    if (!record || !options.target)
      return { done: 'reported', detail: `${detail} No target to act through.`, ok: false };
    let restoredAt: number | undefined;
    if (action === 'roll-back')
      await askToStop(options.target, record, {
        by: options.by,
        clock,
        ...(options.signal ? { signal: options.signal } : {}),
        log,
      });
    // The engine promotes a promoting record and rolls anything else back: make the phase say what was decided.
    const toRecover: RolloutRecord =
      action === 'promote' ? record : record.phase === 'promoting' ? { ...record, phase: 'rolling-back' } : record;
    const result = await recoverRollout(options.target, toRecover, {
      clock,
      log,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      onRestored: () => {
        restoredAt ??= clock.now();
      },
    });
    restoredAt ??= result.action === 'rolled-back' ? clock.now() : undefined;
    return {
      done: result.action,
      detail: `${detail} ${result.action === 'promoted' ? `Promoted ${record.canary || 'the new version'}` : `All traffic back on ${record.stable || 'stable'}, ${record.canary || 'the new version'} removed`} in ${formatDuration(result.durationMs)}.`,
      ...(restoredAt !== undefined ? { restoredAt } : {}),
      ok: true,
    };
  } catch (err) {
    return {
      done: 'failed',
      detail: `${detail} It did not finish: ${errorMessage(err)}. The record stays, so the next reconcile run (or the rollback action) tries again.`,
      ok: false,
    };
  }
}
