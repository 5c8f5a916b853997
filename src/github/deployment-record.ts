/**
 * The GitHub Deployment a deploy or rollback step records, as the step sees it: the
 * `environment` and `github-token` inputs, read and checked together, and the record
 * opened, finished or written as unchanged. The Deployments client (Octokit) is loaded
 * only when there is something to record, so a step that records nothing starts fast.
 * Failing to finish a record is a warning: the rollout's outcome stands either way.
 * Settings modules import this one, so it loads nothing heavy itself (not even
 * @actions/core) until a record is written: the first input error stays fast.
 */
import { errorMessage, UserError } from '../util/errors.js';
import type { FinalState } from './deployments.js';
import type { TrackedDeployment, TrackOptions } from './deployment-tracking.js';
import { inputs } from './inputs.js';

/** Where to record: both set, or environment undefined (nothing recorded). */
export interface RecordSettings {
  environment: string | undefined;
  githubToken: string | undefined;
}

const tokenMissing = (what: string): UserError =>
  new UserError(
    `environment is set but github-token is empty, so ${what} cannot be recorded.`,
    'Pass github-token: ${{ github.token }} and give the job `permissions: deployments: write`, or leave environment empty.',
  );

/**
 * Reads `environment` and `github-token`. A token left as an unexpanded expression counts
 * as none; an environment without a token is refused before anything changes.
 */
export function readRecordSettings(what = 'the GitHub Deployment'): RecordSettings {
  const environment = inputs.string('environment');
  const token = inputs.string('github-token');
  const githubToken = token && !token.startsWith('${{') ? token : undefined;
  if (environment && !githubToken) {
    throw tokenMissing(what);
  }
  return { environment, githubToken };
}

async function connect(s: RecordSettings) {
  if (!s.environment || !s.githubToken) return undefined;
  const { currentRepo, githubClient } = await import('./client.js');
  const deployments = await import('./deployment-tracking.js');
  return { environment: s.environment, gh: githubClient(s.githubToken), repo: currentRepo(), deployments };
}

/** Opens the step's deployment (in_progress, or promote's queued one taken over); undefined when nothing is recorded. */
export async function startRecord(
  s: RecordSettings,
  options: Omit<TrackOptions, 'environment'>,
): Promise<TrackedDeployment | undefined> {
  const c = await connect(s);
  return c ? c.deployments.trackDeployment(c.gh, c.repo, { ...options, environment: c.environment }) : undefined;
}

/**
 * Records that the step found the service already running what it would deploy (see
 * `recordUnchanged`). Returns the deployment's id, or undefined when nothing was recorded
 * (a refusal is a warning: nothing was changed either way).
 */
export async function recordUnchangedStep(
  s: RecordSettings,
  options: Omit<TrackOptions, 'environment'> & { finished: string },
): Promise<number | undefined> {
  try {
    const c = await connect(s);
    return c
      ? (await c.deployments.recordUnchanged(c.gh, c.repo, { ...options, environment: c.environment })).id
      : undefined;
  } catch (err) {
    const { warning } = await import('@actions/core');
    warning(`Could not record the GitHub Deployment: ${errorMessage(err)}`);
    return undefined;
  }
}

/** What a step does with the deployment it opened or took up again. */
export type OpenDeployment = Pick<TrackedDeployment, 'id' | 'update' | 'finish'>;

/**
 * The last status of an opened deployment: from the rollout's status, or `error` when the
 * step stopped. A paused rollout is not finished: its deployment stays `in_progress`, with
 * the description saying until when it waits for a resume.
 */
export async function finishRecord(
  tracked: OpenDeployment | undefined,
  outcome: 'succeeded' | 'rolled-back' | 'failed' | 'error' | 'paused',
  description: string,
): Promise<void> {
  if (!tracked) return;
  const { warning } = await import('@actions/core');
  if (outcome === 'paused') {
    await tracked
      .update('in_progress', description)
      .catch((e: unknown) => warning(`Could not update the GitHub Deployment: ${errorMessage(e)}`));
    return;
  }
  const { finalStateOf } = await import('./deployments.js');
  const state: FinalState = outcome === 'error' ? 'error' : finalStateOf(outcome);
  await tracked
    .finish(state, description)
    .catch((e: unknown) => warning(`Could not update the GitHub Deployment: ${errorMessage(e)}`));
}

/**
 * Takes up the deployment a paused rollout recorded (its id from the rollout record) in the
 * job that resumes it: a new `in_progress` status now, the last one when the rollout ends.
 * Without an id (the pausing job recorded none), a new deployment is opened as usual.
 */
export async function resumeRecord(
  s: RecordSettings,
  id: number | undefined,
  options: Omit<TrackOptions, 'environment'> & { resuming: string },
): Promise<OpenDeployment | undefined> {
  const c = await connect(s);
  if (!c) return undefined;
  if (id === undefined) return c.deployments.trackDeployment(c.gh, c.repo, { ...options, environment: c.environment });
  const set = (state: Parameters<typeof c.deployments.setDeploymentStatus>[3], description: string) =>
    c.deployments.setDeploymentStatus(c.gh, c.repo, id, state, description);
  await set('in_progress', options.resuming);
  return {
    id,
    update: (state, description) => set(state, description),
    finish: (state, description) => set(state, description),
  };
}
