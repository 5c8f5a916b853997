/**
 * The rollout engine: one loop for every target. Records the rollout on the resource
 * before touching traffic and after every change, creates the new side, waits until it is
 * healthy, shifts traffic step by step (each weight confirmed before its bake starts),
 * judges each step with the analysis, then promotes, or returns all traffic to stable at
 * once and removes the new side. A cancelled job still rolls back, within the time the
 * runner leaves before it kills the process.
 */
import type { AnalysisRun, BakeResult, Subjects } from '../analysis/types.js';
import { systemClock } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { poll } from '../util/poll.js';
import { errorMessage, UserError } from '../util/errors.js';
import { lookAgain, refuseLiveOwner, Serial, YieldError } from './ownership.js';
import { describePlan } from './plan.js';
import { describeRecord } from './record.js';
import { checkResumable } from './resume.js';
import { DEFAULT_PAUSE_TIMEOUT_MS, type RolloutOptions } from './engine-options.js';
import { cleanupSignal, isBeingRolledBack, nowSeconds, restore, retryUntilDone } from './cleanup.js';
import { startHeartbeat } from './heartbeat.js';
import { recoverRollout } from './recovery.js';
import type {
  FailureTrigger,
  RecoveryResult,
  RolloutRecord,
  RolloutResult,
  StepOutcome,
  Target,
  TimelineEvent,
  TimelineKind,
  Yielded,
} from './types.js';

export { DEFAULT_PAUSE_TIMEOUT_MS, type ResumeOptions, type RolloutOptions } from './engine-options.js';

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
  const { target, plan, analysis, deploymentId } = options;
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (() => undefined);
  const rollbackOnFailure = options.rollbackOnFailure ?? true;
  const heartbeatMs = options.heartbeatMs ?? Math.min(30_000, analysis?.intervalMs ?? 30_000);
  const leaseMs = options.leaseMs ?? Math.max(120_000, 3 * heartbeatMs);
  const timeline: TimelineEvent[] = [];
  const event = (kind: TimelineKind, message: string, weight?: number) => {
    const e: TimelineEvent = { at: clock.now(), kind, message, ...(weight !== undefined ? { weight } : {}) };
    timeline.push(e);
    log(message);
    options.onEvent?.(e);
  };
  const startedAt = clock.now();
  const steps: StepOutcome[] = [];
  const result = (
    status: RolloutResult['status'],
    reason: string,
    extra: Partial<RolloutResult> = {},
  ): RolloutResult => ({
    status,
    reason,
    // A resumed rollout keeps the id it started with.
    deploymentId: options.resume ? record.id : deploymentId,
    engine: target.engine,
    strategy: plan.strategy,
    startedAt,
    finishedAt: clock.now(),
    steps,
    timeline,
    ...extra,
  });

  // Nothing has changed yet: errors here propagate as they are.
  await target.preflight(options.signal);
  let recovered: RecoveryResult | undefined;
  let existing = await target.loadRecord(options.signal);
  if (existing && !options.resume && isBeingRolledBack(existing, clock.now(), options.rollbackTimeoutMs ?? 600_000)) {
    // A rollback (the rollback action, another run's recovery) is under way: wait for it rather than race it.
    event(
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
    event('recover', `Found an unfinished ${describeRecord(existing)}; ${why}. Finishing it before this rollout.`);
    recovered = await recoverRollout(target, existing, {
      clock,
      ...(options.signal ? { signal: options.signal } : {}),
      log,
      ...(options.rollbackTimeoutMs ? { timeoutMs: options.rollbackTimeoutMs } : {}),
    });
    event(
      'recover',
      `The earlier rollout ${existing.id} was ${recovered.action} in ${formatDuration(recovered.durationMs)}.`,
    );
  }

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
    ...(options.githubDeployment !== undefined ? { githubDeployment: options.githubDeployment } : {}),
  };
  // Someone else acting on the service stops the rollout through this signal.
  const takeover = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, takeover.signal]) : takeover.signal;
  const writes = new Serial();
  /** The weight this rollout last confirmed; undefined while a shift is under way (then traffic is not compared). */
  let expected: number | undefined;
  let yielded: Yielded | undefined;
  const stopFor = (y: Yielded): never => {
    yielded ??= y;
    takeover.abort(new YieldError(yielded));
    throw new YieldError(yielded);
  };
  /** Looks again: throws YieldError when the rollout is no longer this run's to drive. */
  const ensureOwned = async (s: AbortSignal = signal) => {
    if (yielded) stopFor(yielded);
    const found = await lookAgain(target, record, expected, clock, s, recordKept);
    if (found) stopFor(found);
  };
  /** Whether the record has been read back since it was first written (a Deployment the manifests create has none until it exists). */
  let recordKept = false;
  const write = (changes: Partial<RolloutRecord>, s: AbortSignal = signal, check = true) =>
    writes.run(async () => {
      if (check) await ensureOwned(s);
      record = { ...record, ...changes, at: nowSeconds(clock), lease: nowSeconds(clock) + Math.ceil(leaseMs / 1000) };
      await target.saveRecord(record, s);
      if (!recordKept) recordKept = (await target.loadRecord(s))?.id === record.id;
    });
  const save = (changes: Partial<RolloutRecord>, s: AbortSignal = signal) => write(changes, s);

  let healthy = false;
  let stepIndex = -1;
  let heartbeat: { stop(): void } = { stop: () => undefined };
  const startBeating = () => {
    heartbeat = startHeartbeat(heartbeatMs, clock, takeover.signal, async () => {
      try {
        await write({}, takeover.signal);
      } catch (err) {
        if (err instanceof YieldError || takeover.signal.aborted) return;
        log(
          `Could not renew the rollout's lease (${errorMessage(err)}); trying again in ${formatDuration(heartbeatMs)}.`,
        );
      }
    });
  };
  return options.resume ? resumeFrom(existing) : drive(false);

  /**
   * Takes over the paused rollout of `paused` (resume: true): checks it is paused, that its
   * canary is the one this job was given and traffic is where it was left, then writes this
   * run and its lease into the record and drives the remaining steps.
   */
  async function resumeFrom(paused: RolloutRecord | undefined): Promise<RolloutResult> {
    paused = await checkResumable(target, paused, options, clock.now());
    record = {
      ...paused,
      ...(options.runId ? { run: options.runId } : {}),
      ...(options.githubDeployment !== undefined ? { githubDeployment: options.githubDeployment } : {}),
    };
    delete record.pauseUntil;
    delete record.abort;
    expected = paused.weight;
    healthy = true;
    stepIndex = paused.step;
    return drive(true, paused);
  }

  async function drive(resuming: boolean, paused?: RolloutRecord): Promise<RolloutResult> {
    const extra: Partial<RolloutResult> = {
      ...(recovered ? { recovered } : {}),
      ...(paused ? { resumedFrom: paused } : {}),
    };
    if (!resuming) {
      // Written before anything changes; if this fails, nothing was touched.
      await write({}, signal, false);
    } else {
      // Taking the record over: this run and its lease, checked against what was read (no one else resumed it meanwhile).
      await writes.run(async () => {
        const live = await target.loadRecord(signal);
        if (
          !live ||
          live.id !== record.id ||
          live.phase !== 'paused' ||
          live.run !== paused?.run ||
          live.at !== paused?.at
        ) {
          throw new UserError(
            `The record of ${record.id} changed while this job was taking it over (${live ? describeRecord(live) : 'it was removed'}): someone else resumed or rolled it back. Nothing was changed.`,
            'Look at the other run; do not resume twice.',
          );
        }
        record = { ...record, at: nowSeconds(clock), lease: nowSeconds(clock) + Math.ceil(leaseMs / 1000) };
        await target.saveRecord(record, signal);
      });
    }
    startBeating();
    return body(resuming, extra);
  }

  async function body(resuming: boolean, extra: Partial<RolloutResult>): Promise<RolloutResult> {
    try {
      const first = resuming ? record.step + 1 : 0;
      if (resuming) {
        event(
          'start',
          `Resuming the paused ${plan.strategy} rollout ${record.id} of ${target.description} at step ${first + 1}/${plan.steps.length}: ${record.weight}% on ${record.canary} (confirmed), then ${describePlan({ ...plan, steps: plan.steps.slice(first) })}.`,
          record.weight,
        );
      } else {
        event(
          'start',
          `Starting a ${plan.strategy} rollout (${deploymentId}) of ${target.description}: ${describePlan(plan)}.`,
        );
        const sides = await target.create(deploymentId, options.signal);
        await save({ stable: sides.stable, canary: sides.canary });
        event('created', `New version ${sides.canary} created beside ${sides.stable}; waiting until it is healthy.`);
        try {
          await target.waitHealthy(signal);
        } catch (err) {
          if (signal.aborted) throw err;
          throw new RolloutFailure(
            'unhealthy',
            `The new version did not become healthy: ${err instanceof UserError ? err.describe() : errorMessage(err)}`,
          );
        }
        healthy = true;
        event('healthy', `New version ${sides.canary} is healthy.`);
      }

      for (const [index, step] of plan.steps.entries()) {
        if (index < first) continue;
        stepIndex = index;
        if (step.weight > 0 && target.observe) {
          const seen = await target.observe(signal);
          if (seen.canaryReady === false) {
            throw new RolloutFailure(
              'unhealthy',
              `The new version cannot take ${step.weight}% of traffic: ${seen.reason ?? 'it has no healthy capacity'}.`,
            );
          }
        }
        await save({ phase: 'shifting', step: index, weight: Math.max(record.weight, step.weight) });
        expected = undefined;
        // Not interrupted by a takeover: a shift half sent is worse than one checked right after.
        const traffic = await target.shift(step.weight, options.signal);
        expected = traffic.canary;
        const confirmedAt = clock.now();
        const outcome: StepOutcome = { index, weight: step.weight, traffic, confirmedAt };
        steps.push(outcome);
        event(
          'shift',
          `Step ${index + 1}/${plan.steps.length}: ${traffic.canary}% on the new version, ${traffic.stable}% on stable (confirmed${traffic.detail ? `: ${traffic.detail}` : ''}).`,
          traffic.canary,
        );
        await ensureLateShiftUndone();
        const pauseHere = step.pause === true && index < plan.steps.length - 1;
        if (step.bakeMs <= 0) {
          if (pauseHere) return await pauseAt(index, traffic.canary, extra);
          continue;
        }
        if (!analysis) {
          event('analysis', `Baking ${formatDuration(step.bakeMs)} at ${traffic.canary}% (no analysis configured).`);
          await clock.sleep(step.bakeMs, signal);
          if (pauseHere) return await pauseAt(index, traffic.canary, extra);
          continue;
        }
        event(
          'analysis',
          `Judging ${traffic.canary}% for ${formatDuration(step.bakeMs)}, a run every ${formatDuration(analysis.intervalMs)}.`,
        );
        let runs = 0;
        const bake: BakeResult = await analysis.bake({
          subjects: subjectsAt(target, traffic.canary),
          durationMs: step.bakeMs,
          since: new Date(confirmedAt),
          // Data from before this rollout's first confirmed shift is never this canary's.
          firstShiftAt: new Date(steps[0]?.confirmedAt ?? confirmedAt),
          clock,
          signal,
          onRun: (run) => log(describeRun(run, ++runs, confirmedAt)),
        });
        outcome.bake = bake;
        event('analysis', `Step ${index + 1} analysis: ${bake.verdict}. ${bake.reason}`);
        if (bake.verdict !== 'pass')
          throw new RolloutFailure(
            'analysis',
            `Step ${index + 1} (${traffic.canary}%) analysis ${bake.verdict === 'fail' ? 'failed' : 'was inconclusive'}: ${bake.reason}`,
          );
        if (step.pause && index < plan.steps.length - 1) return await pauseAt(index, traffic.canary, extra);
      }

      await save({ phase: 'promoting' });
      heartbeat.stop();
      event('promote', `Every step passed: promoting ${record.canary}.`);
      await target.promote(record, options.signal);
      await writes.run(() => target.saveRecord(undefined, options.signal));
      event(
        'promote',
        target.describePromotion?.(record) ?? `Promoted: ${record.canary} takes all traffic; ${record.stable} removed.`,
        100,
      );
      return result(
        'succeeded',
        resuming
          ? `Resumed and rolled out ${record.canary} in ${formatDuration(clock.now() - startedAt)} (${describePlan({ ...plan, steps: plan.steps.slice(first) })}).`
          : `Rolled out ${record.canary} in ${formatDuration(clock.now() - startedAt)} (${describePlan(plan)}).`,
        extra,
      );
    } catch (err) {
      heartbeat.stop();
      const detectedAt = clock.now();
      const where =
        stepIndex >= 0
          ? ` at step ${stepIndex + 1} (${plan.steps[stepIndex]?.weight}%)`
          : healthy
            ? ''
            : ' before the new version was healthy';
      if (!yielded && !(err instanceof YieldError) && !options.signal?.aborted) {
        // A failure of our own: before undoing anything, make sure the rollout is still ours to undo.
        try {
          const found = await lookAgain(target, record, undefined, clock, undefined, recordKept);
          if (found && found.kind !== 'traffic') yielded = found;
        } catch (lookErr) {
          log(`Could not read the rollout record again before rolling back (${errorMessage(lookErr)}); rolling back.`);
        }
      }
      const y = yielded ?? (err instanceof YieldError ? err.yielded : undefined);
      if (y) return yieldTo(y, where, extra);

      const trigger: FailureTrigger =
        err instanceof RolloutFailure ? err.trigger : options.signal?.aborted ? 'cancelled' : 'error';
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
          diagnosis = await target.diagnose(options.signal);
          if (diagnosis.length)
            log(`Why the new version looks unhealthy:\n${diagnosis.map((d) => `  - ${d}`).join('\n')}`);
        } catch (diagErr) {
          log(`Could not read why the new version is unhealthy: ${errorMessage(diagErr)}`);
        }
      }
      const failure = { trigger, detectedAt, ...(diagnosis?.length ? { diagnosis } : {}) };

      if (!rollbackOnFailure && trigger !== 'cancelled') {
        try {
          await write({ phase: 'held' }, options.signal ?? new AbortController().signal, false);
        } catch (saveErr) {
          log(`Could not mark the rollout as held: ${errorMessage(saveErr)}`);
        }
        event(
          'note',
          `rollback-on-failure is false: traffic stays where it is (up to ${record.weight}% on ${record.canary}) for you to look at. Run the rollback action to undo it.`,
        );
        return result('failed', `${why} Traffic was left as it is because rollback-on-failure is false.`, {
          ...extra,
          failure,
        });
      }

      const cleanup = cleanupSignal(
        options.signal,
        options.rollbackTimeoutMs ?? 600_000,
        options.cancelGraceMs ?? 6_000,
        clock,
      );
      let restoredAt: number | undefined;
      try {
        try {
          await write({ phase: 'rolling-back' }, cleanup.signal, false);
        } catch (saveErr) {
          // The restore matters more than the record: go on, the record still says what to undo.
          log(`Could not mark the record rolling-back (${errorMessage(saveErr)}); restoring stable anyway.`);
        }
        event(
          'rollback',
          `Rolling back: all traffic to ${record.stable || 'the stable version'}, then removing ${record.canary || 'the new version'}.`,
        );
        await restore(target, record, {
          clock,
          signal: cleanup.signal,
          deadline: cleanup.deadline,
          log,
          onRestored: () => {
            if (restoredAt !== undefined) return;
            restoredAt = clock.now();
            event(
              'restored',
              `All traffic is back on ${record.stable || 'the stable version'} (${formatDuration(clock.now() - detectedAt)} after the failure was detected).`,
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
        event('rollback', `Rolled back: ${record.canary || 'the new version'} removed.`);
        return result(
          'rolled-back',
          `${why} Rolled back to ${record.stable || 'the stable version'}; traffic restored ${formatDuration(restoredAt - detectedAt)} after detection.`,
          {
            ...extra,
            failure: { ...failure, restoredAt, recoveryMs: restoredAt - detectedAt },
          },
        );
      } catch (rollbackErr) {
        const message = `The rollback did not finish: ${rollbackErr instanceof UserError ? rollbackErr.describe() : errorMessage(rollbackErr)}. The rollout record stays on the resource, so the post step, the rollback action or the next run finishes it.`;
        event('error', message);
        return result('failed', `${why} ${message}`, {
          ...extra,
          failure: {
            ...failure,
            ...(restoredAt !== undefined ? { restoredAt, recoveryMs: restoredAt - detectedAt } : {}),
          },
        });
      } finally {
        cleanup.dispose();
      }
    } finally {
      heartbeat.stop();
    }
  }

  /**
   * Holds the canary at `weight` after step `index` passed: the record says paused, with
   * the deadline of a resume and no lease (no run drives it now), and the run ends.
   */
  async function pauseAt(index: number, weight: number, extraFields: Partial<RolloutResult>): Promise<RolloutResult> {
    // The lease is still renewed while the platform comes to hold the canary.
    const heldUntil = await target.holdPause?.(signal);
    heartbeat.stop();
    let until = clock.now() + (options.pauseTimeoutMs ?? DEFAULT_PAUSE_TIMEOUT_MS);
    if (heldUntil !== undefined && heldUntil < until) {
      log(
        `The platform holds the canary only until ${new Date(heldUntil).toISOString()}: the pause ends then, before pause-timeout.`,
      );
      until = heldUntil;
    }
    await writes.run(async () => {
      await ensureOwned();
      record = {
        ...record,
        phase: 'paused',
        step: index,
        weight: Math.max(record.weight, weight),
        at: nowSeconds(clock),
        pauseUntil: Math.floor(until / 1000),
      };
      delete record.lease;
      await target.saveRecord(record, signal);
    });
    event(
      'note',
      `Paused at step ${index + 1}/${plan.steps.length} with ${weight}% on ${record.canary}: every check so far passed. A later job resumes it (resume: true) before ${new Date(until).toISOString()}, or the rollback action aborts it.`,
      weight,
    );
    return result(
      'paused',
      `Paused at step ${index + 1}/${plan.steps.length}: ${weight}% on ${record.canary} after its checks passed, held until ${new Date(until).toISOString()} for a resume (${describePlan({ ...plan, steps: plan.steps.slice(index + 1) })} left).`,
      {
        ...extraFields,
        paused: { until, nextStep: index + 1, weight },
      },
    );
  }

  /**
   * Someone asked this rollout to stop (or took the service) while its last shift was in
   * flight: that shift may have landed after their restore. Put traffic back on stable in
   * one call (never further forward), then yield.
   */
  async function ensureLateShiftUndone(): Promise<void> {
    let found: Yielded | undefined;
    try {
      found = await lookAgain(target, record, undefined, clock, signal, recordKept);
    } catch (err) {
      if (signal.aborted) throw err;
      log(`Could not read the rollout record after the shift (${errorMessage(err)}); checking again at the next step.`);
      return;
    }
    if (!found) return;
    if (found.kind === 'aborted' || found.kind === 'gone') {
      event(
        'note',
        `${found.message} This rollout's last shift may have landed after that: putting all traffic back on stable in one call.`,
      );
      const cleanup = cleanupSignal(
        options.signal,
        options.rollbackTimeoutMs ?? 600_000,
        options.cancelGraceMs ?? 6_000,
        clock,
      );
      try {
        await retryUntilDone(() => target.shift(0, cleanup.signal), {
          clock,
          signal: cleanup.signal,
          deadline: cleanup.deadline,
          log,
          what: 'putting traffic back on stable',
        });
        event('restored', 'All traffic is back on stable after the late shift.', 0);
      } finally {
        cleanup.dispose();
      }
    }
    stopFor(found);
  }

  async function yieldTo(y: Yielded, where: string, extraFields: Partial<RolloutResult>): Promise<RolloutResult> {
    yielded = y;
    if (y.kind === 'traffic') {
      // Still this run's record: held, so neither the post step nor the next run moves traffic the person just set.
      try {
        await writes.run(async () => {
          record = { ...record, phase: 'held', at: nowSeconds(clock) };
          delete record.lease;
          await target.saveRecord(record, options.signal);
        });
      } catch (err) {
        log(`Could not mark the rollout record held: ${errorMessage(err)}`);
      }
    }
    const message = `Stopped${where} without touching traffic: ${y.message}`;
    event('note', message);
    const status = y.kind === 'aborted' ? 'rolled-back' : 'failed';
    const advice =
      y.kind === 'aborted'
        ? ' Whoever aborted it returns traffic to stable and removes the new version.'
        : y.kind === 'traffic'
          ? ' The record is marked held: look at the weights, then run the rollback action (or deploy again) when the service is as it should be.'
          : ' This run leaves the service to whoever took it over.';
    return result(status, `${message}${advice}`, {
      ...extraFields,
      yielded: y,
      failure: { trigger: 'yielded', detectedAt: y.at },
    });
  }
}

// Moved to recovery.ts; kept here for the importers of the engine's entry points.
export { recoverInterrupted, recoverRollout, type InterruptionOptions, type RecoverOptions } from './recovery.js';
