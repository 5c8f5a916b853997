/**
 * The rollout engine: one loop for every target. Records the rollout on the resource
 * before touching traffic and after every change, creates the new side, waits until it is
 * healthy, shifts traffic step by step (each weight confirmed before its bake starts),
 * judges each step with the analysis, then promotes, or returns all traffic to stable at
 * once and removes the new side. A cancelled job still rolls back, within the time the
 * runner leaves before it kills the process.
 *
 * This file is the order of things; each part lives beside it: `rollout-start.ts` (a record
 * found at the start), `rollout-run.ts` (the run's state, record writes, looking again, the
 * heartbeat), `rollout-steps.ts` (create, shift, bake, promote), `rollout-pause.ts` (pause
 * and resume), `rollout-failure.ts` (hold or roll back) and `rollout-yield.ts` (stop when
 * the rollout is someone else's).
 */
import { systemClock } from '../util/clock.js';
import type { RolloutOptions } from './engine-options.js';
import { endFailedRollout } from './rollout-failure.js';
import { adoptPaused, takeOverPaused } from './rollout-pause.js';
import { RolloutRun } from './rollout-run.js';
import { settleEarlierRollout } from './rollout-start.js';
import { driveSteps } from './rollout-steps.js';
import { Timeline } from './rollout-timeline.js';
import type { RolloutRecord, RolloutResult } from './types.js';

export { DEFAULT_PAUSE_TIMEOUT_MS, type ResumeOptions, type RolloutOptions } from './engine-options.js';
export { refusePaused } from './rollout-pause.js';

export async function runRollout(options: RolloutOptions): Promise<RolloutResult> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (() => undefined);
  const timeline = new Timeline(clock, log, options.onEvent);
  const startedAt = clock.now();

  // Nothing has changed yet: errors here propagate as they are.
  await options.target.preflight(options.signal);
  const { existing, recovered } = await settleEarlierRollout(options, clock, log, timeline);

  const run = new RolloutRun(options, timeline, startedAt, recovered);
  if (!options.resume) return drive(run, false);
  const paused = await adoptPaused(run, existing);
  return drive(run, true, paused);
}

/** Writes (or, resuming, takes over) the record, starts the heartbeat and drives the rollout to its end. */
async function drive(run: RolloutRun, resuming: boolean, paused?: RolloutRecord): Promise<RolloutResult> {
  const extra: Partial<RolloutResult> = {
    ...(run.recovered ? { recovered: run.recovered } : {}),
    ...(paused ? { resumedFrom: paused } : {}),
  };
  if (!resuming) {
    // Written before anything changes; if this fails, nothing was touched.
    await run.write({}, run.signal, false);
  } else {
    await takeOverPaused(run, paused);
  }
  run.startBeating();
  try {
    return await driveSteps(run, resuming, extra);
  } catch (err) {
    return await endFailedRollout(run, err, extra);
  } finally {
    run.heartbeat.stop();
  }
}

// Moved to recovery.ts; kept here for the importers of the engine's entry points.
export { recoverInterrupted, recoverRollout, type InterruptionOptions, type RecoverOptions } from './recovery.js';
