import { parseApprovers, type Approver } from '../../github/approvers.js';
import { inputs } from '../../github/inputs.js';
import { UserError } from '../../util/errors.js';

export interface Settings {
  approvers: Approver[];
  environment: string;
  release: string;
  service: string;
  timeoutMs: number;
  pollIntervalMs: number;
  /** 0: find the run's open deployment of the environment, if there is one. */
  deploymentId: number;
  notify: string;
  token: string;
}

const ENVIRONMENT = /^[^/'"`\\]{1,255}$/;
/** A job on a GitHub-hosted runner runs at most 6 hours. */
const LONGEST = 6 * 60 * 60 * 1000;

const timeoutOutOfRange = (): UserError =>
  new UserError(
    `Input 'timeout' must be more than 0 and at most 6h (the longest a job on a GitHub-hosted runner runs).`,
    'Give e.g. timeout: 2h, and a job timeout-minutes above it.',
  );

export function readSettings(): Settings {
  const approvers = parseApprovers(
    inputs
      .required('approvers')
      .split(/[\n,]/)
      .map((a) => a.trim())
      .filter(Boolean),
  );
  const environment = inputs.string('environment', 'production');
  if (!ENVIRONMENT.test(environment))
    throw new UserError(
      `Input 'environment' is not an environment name: '${environment}'.`,
      'Use the name of the environment being approved, e.g. production.',
    );
  const timeoutMs = inputs.duration('timeout', '1h');
  if (timeoutMs <= 0 || timeoutMs > LONGEST) throw timeoutOutOfRange();
  const pollIntervalMs = inputs.duration('poll-interval', '30s');
  if (pollIntervalMs < 1000)
    throw new UserError(
      `Input 'poll-interval' must be at least 1s.`,
      'Give e.g. poll-interval: 30s (each look costs one API request).',
    );
  return {
    approvers,
    environment,
    release: inputs.string('release', '') || process.env.GITHUB_SHA || 'unknown',
    service: inputs.string('service', ''),
    timeoutMs,
    pollIntervalMs,
    deploymentId: inputs.integer('deployment-id', undefined, { min: 1 }) ?? 0,
    notify: inputs.string('notify', ''),
    token: inputs.string('github-token', '${{ github.token }}'),
  };
}
