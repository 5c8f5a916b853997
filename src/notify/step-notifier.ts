/**
 * The `notify` input of the step that runs, as a notifier: webhook URLs masked with the
 * runner before anything else is printed, sends logged as info or warnings, and the run's
 * link on every message when the job runs in GitHub Actions. The rollout actions share it
 * so that none of them builds its own.
 */
import { info, setSecret, warning } from '@actions/core';
import { runContext, runUrl } from '../github/context.js';
import { inputs } from '../github/inputs.js';
import { notifier, type Notifier } from './notifier.js';

export function stepNotifier(): Notifier {
  const context = runContext();
  return notifier(inputs.string('notify', ''), {
    mask: setSecret,
    info,
    warn: warning,
    ...(context.runId && context.repository ? { runUrl: runUrl(context) } : {}),
  });
}
