import type { GitHub, Repo } from './client.js';
import { runContext, runUrl, type RunContext } from './context.js';
import { deploymentError } from './deployment-errors.js';
import { UserError } from '../util/errors.js';
import { listDeployments, loadStatuses } from './deployment-history.js';
import {
  currentState,
  digestOf,
  isProductionName,
  STATUS_DESCRIPTION_LIMIT,
  TASK,
  TOOL,
  type DeploymentPayload,
  type DeploymentRecord,
  type DeploymentState,
  type FinalState,
  type OpenState,
} from './deployments.js';

/**
 * Recording: opening a GitHub Deployment for a rollout (or taking over the one promote
 * queued), moving it through its statuses, and closing it.
 */

export interface TrackOptions {
  environment: string;
  /** Commit the image was built from; default GITHUB_SHA. Lead time is measured from it. */
  ref?: string;
  image: string;
  /** Shown on the deployment; default `Deploy <image> to <environment>`. */
  description?: string;
  /** service, platform, engine, rollback...; tool, image and digest are filled in. */
  payload?: Partial<DeploymentPayload>;
  /** Where the rollout's log is; default the workflow run. */
  logUrl?: string;
  /** Where the environment is reached (shown by GitHub as "View deployment"). */
  environmentUrl?: string;
  /** Default: true for production / prod / prd / live. */
  production?: boolean;
  /** For environments that go away (previews); default false. */
  transient?: boolean;
  /** First status: `in_progress` (default) for a rollout starting now, `queued` for promote. */
  initialState?: OpenState;
  /** The first status's description; default `Deploying <image>`. */
  statusDescription?: string;
  /**
   * Take over a `queued` deployment that promote made for the same environment, image
   * digest and service earlier in the same workflow run, instead of creating another.
   * Default true.
   */
  adopt?: boolean;
  run?: RunContext;
}

export interface TrackedDeployment {
  id: number;
  environment: string;
  /** True when a deployment promote had queued was taken over. */
  adopted: boolean;
  /** The commit the deployment records. */
  sha: string;
  payload: DeploymentPayload;
  /** A further open status (e.g. `in_progress` when the rollout starts after a wait). */
  update(state: OpenState, description: string): Promise<void>;
  /** The last status. */
  finish(state: FinalState, description: string, options?: { environmentUrl?: string; logUrl?: string }): Promise<void>;
}

const deploymentNotCreated = (environment: string, status: number, message: string | undefined): UserError =>
  new UserError(
    `GitHub did not create the deployment to ${environment} (HTTP ${status}): ${message ?? 'no reason given'}.`,
  );

/**
 * Records a deploy step that found the service already running what it would deploy: a
 * deployment marked `unchanged` that succeeds at once (promote's queued deployment is taken
 * over and closed), so the environment's record stays true and dora-report does not count
 * it as a change.
 */
export async function recordUnchanged(
  gh: GitHub,
  repo: Repo,
  options: TrackOptions & { finished: string },
): Promise<TrackedDeployment> {
  const { finished, ...track } = options;
  const tracked = await trackDeployment(gh, repo, { ...track, payload: { ...track.payload, unchanged: true } });
  await tracked.finish('success', finished);
  return tracked;
}

/** A status description GitHub accepts: one line, at most 140 characters. */
export function statusDescription(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= STATUS_DESCRIPTION_LIMIT ? line : `${line.slice(0, STATUS_DESCRIPTION_LIMIT - 1)}…`;
}

/** This run's log (the attempt), where a status points by default. */
export function runLogUrl(run: RunContext = runContext()): string | undefined {
  return run.runId && run.repository ? `${runUrl(run)}/attempts/${run.runAttempt}` : undefined;
}

/** Adds a status to a deployment (any of ours or another tool's); `logUrl` defaults to this run. */
export async function setDeploymentStatus(
  gh: GitHub,
  repo: Repo,
  id: number,
  state: DeploymentState,
  description: string,
  options: { logUrl?: string; environmentUrl?: string } = {},
): Promise<void> {
  const logUrl = options.logUrl ?? runLogUrl();
  try {
    await gh.rest.repos.createDeploymentStatus({
      ...repo,
      deployment_id: id,
      state,
      description: statusDescription(description),
      ...(logUrl ? { log_url: logUrl } : {}),
      ...(options.environmentUrl ? { environment_url: options.environmentUrl } : {}),
    });
  } catch (err) {
    throw deploymentError(err, `record status '${state}' on deployment ${id}`);
  }
}

/**
 * Records a deployment that starts now: creates it (or adopts the one promote queued)
 * and sets its first status. Created with `required_contexts: []` (the commit's checks
 * were the job's business before it got here; GitHub would otherwise refuse with 409
 * while any check is pending) and `auto_merge: false` (GitHub would otherwise merge the
 * default branch into a branch ref that is behind it).
 */
export async function trackDeployment(gh: GitHub, repo: Repo, options: TrackOptions): Promise<TrackedDeployment> {
  const run = options.run ?? runContext();
  const environment = options.environment.trim();
  if (!environment)
    throw new UserError(
      'No environment was given for the GitHub Deployment.',
      'Set the environment input (for example production).',
    );
  const ref = (options.ref ?? run.sha).trim();
  if (!ref)
    throw new UserError('No commit to record the deployment against: GITHUB_SHA is empty and no ref was given.');
  const logUrl = options.logUrl ?? runLogUrl(run);
  const image = options.image.trim();
  const digest = options.payload?.digest ?? digestOf(image);
  const payload: DeploymentPayload = {
    ...options.payload,
    tool: TOOL,
    image,
    ...(digest ? { digest } : {}),
    ...(run.runId ? { run: { id: run.runId, attempt: run.runAttempt, url: runUrl(run) } } : {}),
  };
  const initial = options.initialState ?? 'in_progress';
  const statusOptions = { logUrl, environmentUrl: options.environmentUrl };

  let id: number | undefined;
  let sha = ref;
  let adopted = false;
  if ((options.adopt ?? true) && initial === 'in_progress' && digest && run.runId) {
    const queued = await findQueuedPromotion(gh, repo, environment, digest, payload.service, run.runId);
    if (queued) {
      id = queued.id;
      sha = queued.sha;
      adopted = true;
      Object.assign(payload, { promotion: queued.payload?.promotion });
    }
  }
  if (id === undefined) {
    let created;
    try {
      created = await gh.rest.repos.createDeployment({
        ...repo,
        ref,
        task: TASK,
        environment,
        description: options.description ?? `Deploy ${image} to ${environment}`,
        payload,
        required_contexts: [],
        auto_merge: false,
        transient_environment: options.transient ?? false,
        production_environment: options.production ?? isProductionName(environment),
      });
    } catch (err) {
      throw deploymentError(err, `create a deployment of ${ref} to ${environment}`);
    }
    if (created.status !== 201 || !('id' in created.data)) {
      throw deploymentNotCreated(environment, created.status, (created.data as { message?: string }).message);
    }
    id = created.data.id;
    sha = created.data.sha;
  }
  const deploymentId = id;
  await setDeploymentStatus(
    gh,
    repo,
    deploymentId,
    initial,
    options.statusDescription ?? `Deploying ${image}`,
    statusOptions,
  );
  return {
    id: deploymentId,
    environment,
    adopted,
    sha,
    payload,
    update: (state, description) => setDeploymentStatus(gh, repo, deploymentId, state, description, statusOptions),
    finish: (state, description, extra = {}) =>
      setDeploymentStatus(gh, repo, deploymentId, state, description, {
        logUrl: extra.logUrl ?? logUrl,
        environmentUrl: extra.environmentUrl ?? options.environmentUrl,
      }),
  };
}

/** A deployment promote queued in this run for this environment, digest and service. */
async function findQueuedPromotion(
  gh: GitHub,
  repo: Repo,
  environment: string,
  digest: string,
  service: string | undefined,
  runId: string,
): Promise<DeploymentRecord | undefined> {
  const recent = await listDeployments(gh, repo, { environment, limit: 20, statuses: false });
  const candidates = recent.filter(
    (d) =>
      d.payload?.promotion?.run_id === runId &&
      d.payload.digest === digest &&
      (!service || !d.payload.service || d.payload.service === service),
  );
  await loadStatuses(gh, repo, candidates);
  return candidates.find((d) => currentState(d) === 'queued' || currentState(d) === 'pending');
}
