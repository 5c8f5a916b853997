import { isProductionName } from './environment-name.js';

/**
 * GitHub Deployments as the record of what ran where. Every deploy, rollback and
 * promotion of platform-actions creates a Deployment (task `deploy`) whose payload
 * names the image by digest, and moves it through statuses:
 * `queued` (promote, waiting for the deploy job) → `in_progress` → `success` |
 * `failure` | `error`. A rollback marks the deployment it undid `failure` and is
 * itself a deployment with `payload.rollback: true`. promote and dora-report read the
 * history back with `listDeployments` (deployment-history.ts);
 * deployment-tracking.ts records it.
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
