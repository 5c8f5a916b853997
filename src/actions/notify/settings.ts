import { inputs } from '../../github/inputs.js';
import type { NotifyEvent } from '../../notify/notify.js';
import { UserError } from '../../util/errors.js';

export interface Settings {
  targets: string;
  event: NotifyEvent;
  service: string;
  environment: string;
  release: string;
  image: string;
  summary: string;
  facts: Array<[string, string]>;
  timeoutMs: number;
}

const EVENTS = ['started', 'paused', 'rolled-back', 'failed', 'held', 'promoted', 'succeeded'] as const;

export function readSettings(): Settings {
  const facts = inputs.lines('facts').map((line): [string, string] => {
    const eq = line.indexOf('=');
    if (eq <= 0)
      throw new UserError(
        `Input 'facts' has '${line}', which is not NAME=value.`,
        'Write one fact a line, e.g. p95 latency=812 ms > 500 ms.',
      );
    return [line.slice(0, eq).trim(), line.slice(eq + 1).trim()];
  });
  const event = inputs.required('event') as NotifyEvent;
  if (!(EVENTS as readonly string[]).includes(event))
    throw new UserError(`Input 'event' is '${event}'.`, `Use one of ${EVENTS.join(', ')}.`);
  return {
    targets: inputs.string('notify', ''),
    event,
    service: inputs.required('service'),
    environment: inputs.required('environment'),
    release: inputs.string('release', '') || process.env.GITHUB_SHA || 'unknown',
    image: inputs.string('image', ''),
    summary: inputs.string('summary', ''),
    facts,
    timeoutMs: inputs.duration('timeout', '5s'),
  };
}
