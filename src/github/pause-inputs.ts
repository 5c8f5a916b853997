/**
 * The pause and resume inputs of the deploy actions (ecs-deploy, gke-deploy): `resume`
 * continues a paused canary, `pause-timeout` is how long a pause step holds one.
 */
import { UserError } from '../util/errors.js';
import { formatDuration } from '../util/duration.js';
import { inputs } from './inputs.js';

const MIN_PAUSE_MS = 60_000;
const MAX_PAUSE_MS = 30 * 24 * 3_600_000;

export interface PauseSettings {
  resume: boolean;
  pauseTimeoutMs: number;
}

const pauseTimeoutOutOfRange = (pauseTimeoutMs: number): UserError =>
  new UserError(
    `pause-timeout is ${formatDuration(pauseTimeoutMs)}; a paused canary waits between ${formatDuration(MIN_PAUSE_MS)} and ${formatDuration(MAX_PAUSE_MS)} for its resume.`,
    'Set pause-timeout to how long reviewers may take to approve the resume, e.g. 24h.',
  );

export function readPauseSettings(): PauseSettings {
  const resume = inputs.boolean('resume', false);
  const pauseTimeoutMs = inputs.duration('pause-timeout', '24h');
  if (pauseTimeoutMs < MIN_PAUSE_MS || pauseTimeoutMs > MAX_PAUSE_MS) {
    throw pauseTimeoutOutOfRange(pauseTimeoutMs);
  }
  return { resume, pauseTimeoutMs };
}
