import { info, setSecret, warning } from '@actions/core';
import { runContext, runUrl } from '../../github/context.js';
import { outputs } from '../../github/outputs.js';
import type { StepContext } from '../../github/run.js';
import { notify, parseTargets, type NotifyTarget } from '../../notify/notify.js';
import { errorMessage } from '../../util/errors.js';
import type { Settings } from './settings.js';

export async function main(s: Settings, _ctx: StepContext): Promise<void> {
  let targets: NotifyTarget[] = [];
  try {
    targets = parseTargets(s.targets, setSecret);
  } catch (err) {
    // A notification never fails the job: a bad target list is a warning.
    warning(`Nothing was sent: ${errorMessage(err)}`);
  }
  const run = runContext();
  const digest = /@(sha256:[0-9a-f]{64})$/.exec(s.image)?.[1];
  const results = await notify(
    targets,
    {
      event: s.event,
      service: s.service,
      environment: s.environment,
      release: s.release,
      ...(s.image ? { image: s.image } : {}),
      ...(digest ? { digest } : {}),
      summary: s.summary || `${s.service} in ${s.environment}: ${s.event}`,
      facts: s.facts,
      ...(run.runId && run.repository ? { runUrl: runUrl(run) } : {}),
    },
    { timeoutMs: s.timeoutMs },
  );
  for (const r of results)
    (r.ok ? info : warning)(`Notification to ${r.target}: ${r.ok ? 'sent' : `not sent, ${r.detail}`}.`);
  if (targets.length === 0) info('No notify targets: nothing to send.');
  outputs.set('sent', results.filter((r) => r.ok).length);
  outputs.set('failed', results.filter((r) => !r.ok).length);
}
