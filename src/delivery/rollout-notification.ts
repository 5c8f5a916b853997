/**
 * What a rollout's result tells people: the event (started, paused, rolled back, failed,
 * succeeded), one line of why, and the failing check's numbers from the last analysis run
 * that did not pass. Built from the engine's result only; nothing here acts. It lives with
 * the rollout (as report.ts does) so that notify/ knows nothing of delivery/.
 */
import type { Notification, NotifyEvent } from '../notify/notify.js';
import { about, type Subject } from '../notify/subject.js';
import type { RolloutResult } from './types.js';

const EVENTS: Record<RolloutResult['status'], NotifyEvent> = {
  succeeded: 'succeeded',
  'rolled-back': 'rolled-back',
  failed: 'failed',
  paused: 'paused',
};

/** The checks that failed (or errored) in the last analysis run that did not pass, with their numbers. */
export function failingChecks(result: RolloutResult): Array<[string, string]> {
  for (const step of [...result.steps].reverse()) {
    const runs = step.bake?.runs ?? [];
    for (const run of [...runs].reverse()) {
      if (run.verdict === 'pass') continue;
      const bad = run.checks.filter((c) => c.verdict === 'fail' || c.verdict === 'error');
      if (bad.length) return bad.slice(0, 6).map((c) => [c.name, c.reason]);
    }
  }
  return [];
}

/** The notification for how a rollout ended (or paused). */
export function rolloutNotification(result: RolloutResult, subject: Subject): Omit<Notification, 'runUrl'> {
  const facts: Array<[string, string]> = [['Strategy', `${result.strategy} (${result.engine})`]];
  const failedStep = result.steps.find((s) => s.bake && s.bake.verdict !== 'pass');
  if (failedStep) facts.push(['Failed at', `step ${failedStep.index + 1}, ${failedStep.weight}% of traffic`]);
  facts.push(...failingChecks(result));
  if (result.failure?.recoveryMs !== undefined)
    facts.push(['Recovery', `${Math.round(result.failure.recoveryMs / 1000)} s until all traffic was back`]);
  if (result.paused)
    facts.push(['Paused at', `${result.paused.weight}% until ${new Date(result.paused.until).toISOString()}`]);
  const summary = result.paused
    ? `Paused at ${result.paused.weight}%: waiting for approval to resume. ${result.reason}`
    : result.reason;
  return { event: EVENTS[result.status], ...about(subject), summary: summary.slice(0, 1000), facts };
}
