import { httpStatus, type GitHub, type Repo } from './client.js';
import { runContext, runUrl, type RunContext } from './context.js';
import { mapLimit } from '../util/pool.js';
import { errorMessage, UserError } from '../util/errors.js';
import { isProductionName } from './environment-name.js';

/**
 * GitHub Deployments as the record of what ran where. Every deploy, rollback and
 * promotion of platform-actions creates a Deployment (task `deploy`) whose payload
 * names the image by digest, and moves it through statuses:
 * `queued` (promote, waiting for the deploy job) → `in_progress` → `success` |
 * `failure` | `error`. A rollback marks the deployment it undid `failure` and is
 * itself a deployment with `payload.rollback: true`. promote and dora-report read the
 * history back with `listDeployments`.
 *
 * Deployments that jobs with `environment:` get from GitHub itself, and those of other
 * tools, have no `payload.tool` of ours and are left out unless asked for.
 */

export const TOOL = 'platform-actions';
export const TASK = 'deploy';

export type Platform = 'ecs' | 'gke';
export type DeploymentState = 'error' | 'failure' | 'inactive' | 'in_progress' | 'queued' | 'pending' | 'success';
/**
 * How a rollout ended. `success`: the new image serves. `failure`: it failed and the
 * environment is back on what ran before (the deploy rolled itself back; dora-report
 * counts it restored at that status). `error`: it failed and the environment may not be
 * back (rollback disabled or failed; restored only by a later successful deployment).
 */
export type FinalState = 'success' | 'failure' | 'error';
export type OpenState = 'queued' | 'pending' | 'in_progress';

/**
 * The final state a rollout's outcome records: rolled back means the environment is back on
 * what ran before (`failure`); failed means it may not be (`error`). dora-report and promote
 * read them that way.
 */
export function finalStateOf(status: 'succeeded' | 'rolled-back' | 'failed'): FinalState {
  return status === 'succeeded' ? 'success' : status === 'rolled-back' ? 'failure' : 'error';
}

/** GitHub refuses a status description above 140 characters. */
export const STATUS_DESCRIPTION_LIMIT = 140;

export interface DeploymentPayload {
  tool: typeof TOOL;
  /** The image as deployed, `repository@sha256:…` when known by digest. */
  image: string;
  /** `sha256:…`; absent when the image was deployed by tag. */
  digest?: string;
  service?: string;
  platform?: Platform;
  /** The rollout engine that ran it (rolling, task-set canary, native blue-green...). */
  engine?: string;
  /** True on a deployment that returned an environment to an earlier image. */
  rollback?: boolean;
  /** True when the service already ran this image and nothing was rolled out. */
  unchanged?: boolean;
  /** Set by promote on the target environment's deployment. */
  promotion?: { from_environment: string; source_deployment_id: number; run_id: string };
  /** The workflow run that made the deployment. */
  run?: { id: string; attempt: string; url: string };
  [key: string]: unknown;
}

export interface DeploymentStatusRecord {
  id: number;
  state: DeploymentState;
  description: string;
  /** Milliseconds since the epoch. */
  at: number;
  logUrl?: string;
  environmentUrl?: string;
}

export interface DeploymentRecord {
  id: number;
  environment: string;
  sha: string;
  ref: string;
  task: string;
  description: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  creator: string | undefined;
  production: boolean;
  transient: boolean;
  /** Ours (payload.tool is platform-actions) or undefined. */
  payload: DeploymentPayload | undefined;
  /** Oldest first; empty until loaded when listed with `statuses: false`. */
  statuses: DeploymentStatusRecord[];
  statusesLoaded: boolean;
}

// ---- reading a record ----

/** The state the deployment is in now: its newest status (`pending` before any). */
export function currentState(d: DeploymentRecord): DeploymentState {
  return d.statuses.at(-1)?.state ?? 'pending';
}

/** When it first reached `success`, if it did. */
export function succeededAt(d: DeploymentRecord): number | undefined {
  return d.statuses.find((s) => s.state === 'success')?.at;
}

/** Its first `failure` or `error` status: a failed rollout, or one rolled back later. */
export function failureStatus(d: DeploymentRecord): DeploymentStatusRecord | undefined {
  return d.statuses.find((s) => s.state === 'failure' || s.state === 'error');
}

export function isRollback(d: DeploymentRecord): boolean {
  return d.payload?.rollback === true;
}

/** A deploy step that found the service already running its image: recorded, but not a change. */
export function isUnchanged(d: DeploymentRecord): boolean {
  return d.payload?.unchanged === true;
}

/** Succeeded and never marked failed since (a later `inactive` only means superseded). */
export function isHealthy(d: DeploymentRecord): boolean {
  return succeededAt(d) !== undefined && failureStatus(d) === undefined;
}

/**
 * The deployment live in an environment: of those that succeeded and were not marked
 * failed since, the one that succeeded last (what the last successful rollout or
 * rollback put there). `deployments` are one environment's, statuses loaded.
 */
export function liveDeployment(deployments: readonly DeploymentRecord[]): DeploymentRecord | undefined {
  let live: DeploymentRecord | undefined;
  for (const d of deployments) {
    if (!isHealthy(d)) continue;
    if (!live || (succeededAt(d) as number) > (succeededAt(live) as number)) live = d;
  }
  return live;
}

/** `sha256:…` of an image reference pinned by digest. */
export function digestOf(image: string): string | undefined {
  return /@(sha256:[a-f0-9]{64})$/.exec(image.trim())?.[1];
}

export { isProductionName };

// ---- recording ----

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

const DEPLOY_HINT =
  'Give the job `permissions: deployments: write` (and `contents: read`), or pass a github-token that may create deployments in this repository.';

function deploymentError(err: unknown, what: string): UserError {
  const status = httpStatus(err);
  const hint =
    status === 403 || status === 404
      ? DEPLOY_HINT
      : status === 401
        ? 'The token is not valid: check github-token.'
        : status === 422
          ? 'Check that the ref (the commit the image was built from) exists in this repository and that the environment name is valid.'
          : undefined;
  return new UserError(`GitHub refused to ${what}${status ? ` (HTTP ${status})` : ''}: ${errorMessage(err)}`, hint, {
    cause: err,
  });
}

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
      throw new UserError(
        `GitHub did not create the deployment to ${environment} (HTTP ${created.status}): ${(created.data as { message?: string }).message ?? 'no reason given'}.`,
      );
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

// ---- reading the history ----

export interface ListOptions {
  environment: string;
  /** Only deployments created at or after this time (ms since the epoch, Date or ISO text). */
  since?: number | Date | string;
  /** Include deployments that are not ours (GitHub's own environment deployments, other tools). */
  includeForeign?: boolean;
  /** Only this service's (payload.service). */
  service?: string;
  /** Load each deployment's statuses (one request each). Default true. */
  statuses?: boolean;
  /** Stop after this many (newest first) deployments of ours. */
  limit?: number;
  /**
   * Who creates our deployments and their statuses: the login of the deploy jobs' token
   * (github-actions[bot] by default). A deployment whose payload claims to be ours but that
   * anyone else created is foreign (its payload is not trusted), and statuses anyone else
   * set are left out: a writer's token or another tool cannot forge promotion evidence.
   */
  trustedCreator?: string;
}

/** The job token's login: who creates deployments with GITHUB_TOKEN. */
export const DEFAULT_DEPLOYER = 'github-actions[bot]';

const time = (value: number | Date | string): number => (typeof value === 'number' ? value : new Date(value).getTime());

type ApiDeployment = Awaited<ReturnType<GitHub['rest']['repos']['listDeployments']>>['data'][number];
type ApiStatus = Awaited<ReturnType<GitHub['rest']['repos']['listDeploymentStatuses']>>['data'][number];

/** Our payload, whether GitHub hands it back as an object or as JSON text. */
export function parsePayload(raw: unknown): DeploymentPayload | undefined {
  let value = raw;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const p = value as Record<string, unknown>;
  return p.tool === TOOL && typeof p.image === 'string' ? (p as DeploymentPayload) : undefined;
}

function toRecord(d: ApiDeployment, trustedCreator: string): DeploymentRecord {
  const payload = parsePayload(d.payload);
  return {
    id: d.id,
    environment: d.environment,
    sha: d.sha,
    ref: d.ref,
    task: d.task,
    description: d.description ?? '',
    createdAt: time(d.created_at),
    creator: d.creator?.login,
    production: d.production_environment ?? false,
    transient: d.transient_environment ?? false,
    // A payload of ours from anyone else is an imitation: the record is foreign.
    payload: payload && d.creator?.login === trustedCreator ? payload : undefined,
    statuses: [],
    statusesLoaded: false,
  };
}

function toStatus(s: ApiStatus): DeploymentStatusRecord {
  return {
    id: s.id,
    state: s.state,
    description: s.description,
    at: time(s.created_at),
    ...(s.log_url || s.target_url ? { logUrl: s.log_url || s.target_url } : {}),
    ...(s.environment_url ? { environmentUrl: s.environment_url } : {}),
  };
}

/**
 * An environment's deployments, newest first, with their statuses (oldest first).
 * Costs one request per 100 deployments plus, with statuses, one per deployment:
 * bound it with `since` or `limit` (GITHUB_TOKEN allows 1,000 requests an hour).
 */
export async function listDeployments(gh: GitHub, repo: Repo, options: ListOptions): Promise<DeploymentRecord[]> {
  const since = options.since === undefined ? undefined : time(options.since);
  const found: DeploymentRecord[] = [];
  const keep = (r: DeploymentRecord) =>
    (options.includeForeign || r.payload) && (!options.service || r.payload?.service === options.service);
  try {
    await gh.paginate(
      gh.rest.repos.listDeployments,
      { ...repo, environment: options.environment, task: TASK, per_page: 100 },
      (response, done) => {
        for (const d of response.data) {
          const r = toRecord(d, options.trustedCreator || DEFAULT_DEPLOYER);
          if (since !== undefined && r.createdAt < since) {
            done();
            break;
          }
          if (!keep(r)) continue;
          found.push(r);
          if (options.limit !== undefined && found.length >= options.limit) {
            done();
            break;
          }
        }
        return [];
      },
    );
  } catch (err) {
    throw deploymentError(err, `list the deployments of ${options.environment}`);
  }
  if (options.statuses ?? true) await loadStatuses(gh, repo, found, options.trustedCreator || DEFAULT_DEPLOYER);
  return found;
}

/** Loads the statuses of deployments listed without them (4 requests at a time). */
export async function loadStatuses(
  gh: GitHub,
  repo: Repo,
  deployments: readonly DeploymentRecord[],
  trustedCreator = DEFAULT_DEPLOYER,
): Promise<void> {
  await mapLimit(
    deployments.filter((d) => !d.statusesLoaded),
    4,
    async (d) => {
      let statuses: ApiStatus[];
      try {
        statuses = await gh.paginate(gh.rest.repos.listDeploymentStatuses, {
          ...repo,
          deployment_id: d.id,
          per_page: 100,
        });
      } catch (err) {
        throw deploymentError(err, `list the statuses of deployment ${d.id}`);
      }
      // On our deployments, only statuses our deployer set count (anyone with deployments: write can add one).
      const trusted = d.payload ? statuses.filter((st) => st.creator?.login === trustedCreator) : statuses;
      d.statuses = trusted.map(toStatus).sort((a, b) => a.at - b.at || a.id - b.id);
      d.statusesLoaded = true;
    },
  );
}
