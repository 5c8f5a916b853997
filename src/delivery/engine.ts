/**
 * The rollout engine: one loop for every target. Records the rollout on the resource
 * before touching traffic and after every change, creates the new side, waits until it is
 * healthy, shifts traffic step by step (each weight confirmed before its bake starts),
 * judges each step with the analysis, then promotes, or returns all traffic to stable at
 * once and removes the new side. A cancelled job still rolls back, within the time the
 * runner leaves before it kills the process.
 */
import type { Analysis, AnalysisRun, BakeResult, Subjects } from '../analysis/types.js';
import { systemClock, type Clock } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { errorMessage, UserError } from '../util/errors.js';
import { describePlan } from './plan.js';
import { describeRecord } from './record.js';
import type {
  FailureTrigger,
  RecoveryResult,
  RolloutPlan,
  RolloutRecord,
  RolloutResult,
  StepOutcome,
  Target,
  TimelineEvent,
  TimelineKind,
} from './types.js';

export interface RolloutOptions {
  target: Target;
  plan: RolloutPlan;
  /** Judges each bake; without it a bake only waits. */
  analysis?: Analysis;
  deploymentId: string;
  /** Roll back when a check fails or the new version is unhealthy. Default true. */
  rollbackOnFailure?: boolean;
  /** The GitHub run, written into the record (the post step only recovers its own run's rollouts). */
  runId?: string;
  clock?: Clock;
  /** Aborts when the job is cancelled: the engine then rolls back within `cancelGraceMs`. */
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Called with every timeline event as it happens. */
  onEvent?: (event: TimelineEvent) => void;
  /**
   * How long a rollback may still take once the job is cancelled. The runner sends SIGINT,
   * SIGTERM 7.5 s later and kills 2.5 s after that. Default 6 s.
   */
  cancelGraceMs?: number;
  /** Longest a rollback may take otherwise. Default 10 minutes. */
  rollbackTimeoutMs?: number;
}

/** A failed bake or an unhealthy new version: not an error of the engine, a reason to roll back. */
class RolloutFailure extends Error {
  constructor(
    readonly trigger: FailureTrigger,
    message: string,
  ) {
    super(message);
    this.name = 'RolloutFailure';
  }
}

function nowSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}

/**
 * A signal for cleanup work: it outlives the job's signal (a rollback must finish after a
 * cancel), but gives up `graceMs` after the job's signal aborts, or after `timeoutMs`.
 */
function cleanupSignal(jobSignal: AbortSignal | undefined, timeoutMs: number, graceMs: number): { signal: AbortSignal; dispose(): void } {
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
    dispose: () => {
      timers.forEach(clearTimeout);
      jobSignal?.removeEventListener('abort', onAbort);
    },
  };
}

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

export async function runRollout(options: RolloutOptions): Promise<RolloutResult> {
  const { target, plan, analysis, deploymentId, signal } = options;
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (() => undefined);
  const rollbackOnFailure = options.rollbackOnFailure ?? true;
  const timeline: TimelineEvent[] = [];
  const event = (kind: TimelineKind, message: string, weight?: number) => {
    const e: TimelineEvent = { at: clock.now(), kind, message, ...(weight !== undefined ? { weight } : {}) };
    timeline.push(e);
    log(message);
    options.onEvent?.(e);
  };
  const startedAt = clock.now();
  const steps: StepOutcome[] = [];
  const result = (status: RolloutResult['status'], reason: string, extra: Partial<RolloutResult> = {}): RolloutResult => ({
    status,
    reason,
    deploymentId,
    engine: target.engine,
    strategy: plan.strategy,
    startedAt,
    finishedAt: clock.now(),
    steps,
    timeline,
    ...extra,
  });

  // Nothing has changed yet: errors here propagate as they are.
  await target.preflight(signal);
  let recovered: RecoveryResult | undefined;
  const existing = await target.loadRecord(signal);
  if (existing) {
    event('recover', `Found an unfinished ${describeRecord(existing)}. Finishing it before this rollout.`);
    recovered = await recoverRollout(target, existing, { clock, signal, log });
    event('recover', `The earlier rollout ${existing.id} was ${recovered.action} in ${formatDuration(recovered.durationMs)}.`);
  }
  const extra = recovered ? { recovered } : {};

  let record: RolloutRecord = {
    id: deploymentId,
    engine: target.engine,
    phase: 'starting',
    stable: '',
    canary: '',
    weight: 0,
    step: 0,
    at: nowSeconds(clock),
    ...(options.runId ? { run: options.runId } : {}),
  };
  const save = async (changes: Partial<RolloutRecord>, s: AbortSignal | undefined = signal) => {
    record = { ...record, ...changes, at: nowSeconds(clock) };
    await target.saveRecord(record, s);
  };

  let healthy = false;
  let stepIndex = -1;
  // Written before anything changes; if this fails, nothing was touched.
  await save({});

  try {
    event('start', `Starting a ${plan.strategy} rollout (${deploymentId}) of ${target.description}: ${describePlan(plan)}.`);
    const sides = await target.create(deploymentId, signal);
    await save({ stable: sides.stable, canary: sides.canary });
    event('created', `New version ${sides.canary} created beside ${sides.stable}; waiting until it is healthy.`);
    try {
      await target.waitHealthy(signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new RolloutFailure('unhealthy', `The new version did not become healthy: ${err instanceof UserError ? err.describe() : errorMessage(err)}`);
    }
    healthy = true;
    event('healthy', `New version ${sides.canary} is healthy.`);

    for (const [index, step] of plan.steps.entries()) {
      stepIndex = index;
      await save({ phase: 'shifting', step: index, weight: Math.max(record.weight, step.weight) });
      const traffic = await target.shift(step.weight, signal);
      const confirmedAt = clock.now();
      const outcome: StepOutcome = { index, weight: step.weight, traffic, confirmedAt };
      steps.push(outcome);
      event(
        'shift',
        `Step ${index + 1}/${plan.steps.length}: ${traffic.canary}% on the new version, ${traffic.stable}% on stable (confirmed${traffic.detail ? `: ${traffic.detail}` : ''}).`,
        traffic.canary,
      );
      if (step.bakeMs <= 0) continue;
      if (!analysis) {
        event('analysis', `Baking ${formatDuration(step.bakeMs)} at ${traffic.canary}% (no analysis configured).`);
        await clock.sleep(step.bakeMs, signal);
        continue;
      }
      event('analysis', `Judging ${traffic.canary}% for ${formatDuration(step.bakeMs)}, a run every ${formatDuration(analysis.intervalMs)}.`);
      let runs = 0;
      const bake: BakeResult = await analysis.bake({
        subjects: subjectsAt(target, traffic.canary),
        durationMs: step.bakeMs,
        since: new Date(confirmedAt),
        clock,
        ...(signal ? { signal } : {}),
        onRun: (run) => log(describeRun(run, ++runs, confirmedAt)),
      });
      outcome.bake = bake;
      event('analysis', `Step ${index + 1} analysis: ${bake.verdict}. ${bake.reason}`);
      if (bake.verdict !== 'pass') throw new RolloutFailure('analysis', `Step ${index + 1} (${traffic.canary}%) analysis ${bake.verdict === 'fail' ? 'failed' : 'was inconclusive'}: ${bake.reason}`);
    }

    await save({ phase: 'promoting' });
    event('promote', `Every step passed: promoting ${record.canary}.`);
    await target.promote(record, signal);
    await target.saveRecord(undefined, signal);
    event('promote', target.describePromotion?.(record) ?? `Promoted: ${record.canary} takes all traffic; ${record.stable} removed.`, 100);
    return result('succeeded', `Rolled out ${record.canary} in ${formatDuration(clock.now() - startedAt)} (${describePlan(plan)}).`, extra);
  } catch (err) {
    const detectedAt = clock.now();
    const trigger: FailureTrigger = err instanceof RolloutFailure ? err.trigger : signal?.aborted ? 'cancelled' : 'error';
    const where = stepIndex >= 0 ? ` at step ${stepIndex + 1} (${plan.steps[stepIndex]?.weight}%)` : healthy ? '' : ' before the new version was healthy';
    const why =
      err instanceof RolloutFailure
        ? err.message
        : trigger === 'cancelled'
          ? `The job was cancelled${where}.`
          : `The rollout stopped${where}: ${err instanceof UserError ? err.describe() : errorMessage(err)}`;
    event('error', why);

    let diagnosis: string[] | undefined;
    if ((trigger === 'unhealthy' || trigger === 'analysis') && target.diagnose) {
      try {
        diagnosis = await target.diagnose(signal);
        if (diagnosis.length) log(`Why the new version looks unhealthy:\n${diagnosis.map((d) => `  - ${d}`).join('\n')}`);
      } catch (diagErr) {
        log(`Could not read why the new version is unhealthy: ${errorMessage(diagErr)}`);
      }
    }
    const failure = { trigger, detectedAt, ...(diagnosis?.length ? { diagnosis } : {}) };

    if (!rollbackOnFailure && trigger !== 'cancelled') {
      try {
        await save({ phase: 'held' });
      } catch (saveErr) {
        log(`Could not mark the rollout as held: ${errorMessage(saveErr)}`);
      }
      event('note', `rollback-on-failure is false: traffic stays where it is (up to ${record.weight}% on ${record.canary}) for you to look at. Run the rollback action to undo it.`);
      return result('failed', `${why} Traffic was left as it is because rollback-on-failure is false.`, { ...extra, failure });
    }

    const cleanup = cleanupSignal(signal, options.rollbackTimeoutMs ?? 600_000, options.cancelGraceMs ?? 6_000);
    let restoredAt: number | undefined;
    try {
      await save({ phase: 'rolling-back' }, cleanup.signal);
      event('rollback', `Rolling back: all traffic to ${record.stable || 'the stable version'}, then removing ${record.canary || 'the new version'}.`);
      await target.rollback(record, cleanup.signal, () => {
        restoredAt = clock.now();
        event('restored', `All traffic is back on ${record.stable || 'the stable version'} (${formatDuration(clock.now() - detectedAt)} after the failure was detected).`, 0);
      });
      restoredAt ??= clock.now();
      await target.saveRecord(undefined, cleanup.signal);
      event('rollback', `Rolled back: ${record.canary || 'the new version'} removed.`);
      return result('rolled-back', `${why} Rolled back to ${record.stable || 'the stable version'}; traffic restored ${formatDuration(restoredAt - detectedAt)} after detection.`, {
        ...extra,
        failure: { ...failure, restoredAt, recoveryMs: restoredAt - detectedAt },
      });
    } catch (rollbackErr) {
      const message = `The rollback did not finish: ${rollbackErr instanceof UserError ? rollbackErr.describe() : errorMessage(rollbackErr)}. The rollout record stays on the resource, so the post step, the rollback action or the next run finishes it.`;
      event('error', message);
      return result('failed', `${why} ${message}`, { ...extra, failure: { ...failure, ...(restoredAt !== undefined ? { restoredAt, recoveryMs: restoredAt - detectedAt } : {}) } });
    } finally {
      cleanup.dispose();
    }
  }
}

export interface RecoverOptions {
  clock?: Clock;
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Called when all traffic is confirmed back on stable. */
  onRestored?: () => void;
}

/**
 * Finishes an unfinished rollout from its record: an interrupted promotion is completed
 * (every check had passed), anything else is rolled back. Removes the record.
 */
export async function recoverRollout(target: Target, record: RolloutRecord, options: RecoverOptions = {}): Promise<RecoveryResult> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (() => undefined);
  const started = clock.now();
  if (record.phase === 'promoting') {
    log(`Completing the interrupted promotion of ${record.canary} (its checks had passed).`);
    await target.promote(record, options.signal);
    await target.saveRecord(undefined, options.signal);
    return { record, action: 'promoted', durationMs: clock.now() - started };
  }
  log(`Rolling back ${record.id}: all traffic to ${record.stable || 'the stable version'}, then removing ${record.canary || 'the new version'}.`);
  const rollingBack: RolloutRecord = { ...record, phase: 'rolling-back', at: nowSeconds(clock) };
  await target.saveRecord(rollingBack, options.signal);
  await target.rollback(rollingBack, options.signal, options.onRestored);
  await target.saveRecord(undefined, options.signal);
  return { record, action: 'rolled-back', durationMs: clock.now() - started };
}

export interface InterruptionOptions extends RecoverOptions {
  /** Only rollouts written by this run are recovered; another run's rollout is left alone. */
  runId?: string;
}

/**
 * What a `post:` step does: if the main step left a rollout of this run unfinished
 * (cancelled, killed, or failed mid-rollout), finish it. A held rollout (rollback-on-failure
 * false) is left as the user asked. Returns undefined when there was nothing to do.
 */
export async function recoverInterrupted(target: Target, options: InterruptionOptions = {}): Promise<RecoveryResult | undefined> {
  const log = options.log ?? (() => undefined);
  const record = await target.loadRecord(options.signal);
  if (!record) return undefined;
  if (options.runId && record.run && record.run !== options.runId) {
    log(`Found ${describeRecord(record)}, which belongs to another run: leaving it alone.`);
    return undefined;
  }
  if (record.phase === 'held') {
    log(`Found ${describeRecord(record)}: left as it is because rollback-on-failure is false. Run the rollback action to undo it.`);
    return undefined;
  }
  log(`Found an unfinished ${describeRecord(record)}.`);
  return recoverRollout(target, record, options);
}
