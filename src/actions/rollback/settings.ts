import { resolveRegion } from '../../aws/client.js';
import { readRecordSettings } from '../../github/deployment-record.js';
import { inputs } from '../../github/inputs.js';
import { UserError } from '../../util/errors.js';

/** An ECS service to roll back. */
export interface EcsRollbackTarget {
  platform: 'ecs';
  region: string;
  cluster: string;
  service: string;
  /** A task definition (ARN or family:revision) to return to; undefined: the previous one. */
  to: string | undefined;
  /** Accept a `to` the service never ran (another family, no record of it). */
  allowAnyRevision: boolean;
}

/** A Kubernetes Deployment on GKE to roll back (the gke stream implements it). */
export interface GkeRollbackTarget {
  platform: 'gke';
  deployment: string;
  namespace: string;
  projectId: string | undefined;
  location: string | undefined;
  cluster: string | undefined;
  kubeconfig: string | undefined;
  httpRoute: string | undefined;
  /** A Deployment revision to return to; undefined: the previous one. */
  to: number | undefined;
  /** `to` may name a revision that did not complete a rollout or was rolled back. */
  allowAnyRevision: boolean;
}

export type RollbackTarget = EcsRollbackTarget | GkeRollbackTarget;

/** Everything rollback needs, checked before anything touches a cloud. */
export interface Settings {
  target: RollbackTarget;
  reason: string;
  waitTimeoutMs: number;
  environment: string | undefined;
  githubToken: string | undefined;
}

const TASK_DEFINITION = /^(arn:[^:]+:ecs:[^:]+:\d{12}:task-definition\/)?[A-Za-z0-9_-]{1,255}:\d+$/;

const foreignInputsSet = (set: string[], platform: string): UserError =>
  new UserError(
    `${set.join(', ')} ${set.length > 1 ? 'are' : 'is'} set, but ${set.length > 1 ? 'they are' : 'it is'} not used when rolling back on ${platform}.`,
    platform === 'ecs'
      ? 'For a GKE Deployment set platform: gke (or just deployment); for ECS remove them.'
      : 'For an ECS service set platform: ecs with cluster and service; for GKE remove them.',
  );

/** Inputs that only mean something on the other platform: an error when set, so nothing is silently ignored. */
function refuseForeign(platform: string, names: Array<[string, string | undefined]>): void {
  const set = names.filter(([, v]) => v !== undefined).map(([n]) => n);
  if (set.length > 0) {
    throw foreignInputsSet(set, platform);
  }
}

const ecsTargetIncomplete = (cluster: string | undefined, service: string | undefined): UserError =>
  new UserError(
    `Rolling back on ECS needs cluster and service; ${!cluster && !service ? 'both are' : `${!cluster ? 'cluster' : 'service'} is`} empty.`,
    "Set cluster and service (names or ARNs) in the step's `with:` block.",
  );

const toNotATaskDefinition = (to: string): UserError =>
  new UserError(
    `Input 'to' is '${to}', which is neither previous nor a task definition.`,
    'Give previous, a task definition ARN (arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION) or FAMILY:REVISION.',
  );

function ecsTarget(): EcsRollbackTarget {
  const cluster = inputs.string('cluster');
  const service = inputs.string('service');
  if (!cluster || !service) {
    throw ecsTargetIncomplete(cluster, service);
  }
  refuseForeign('ecs', [
    ['deployment', inputs.string('deployment')],
    ['project-id', inputs.string('project-id')],
    ['location', inputs.string('location')],
    ['kubeconfig', inputs.string('kubeconfig')],
    ['http-route', inputs.string('http-route')],
  ]);
  const to = inputs.string('to', 'previous');
  if (to !== 'previous' && !TASK_DEFINITION.test(to)) {
    throw toNotATaskDefinition(to);
  }
  const allowAnyRevision = inputs.boolean('allow-any-revision', false);
  if (allowAnyRevision && to === 'previous') {
    throw new UserError(
      'allow-any-revision is true, but to is previous: it only widens what an explicit to: may name.',
      'Remove allow-any-revision, or give to: the task definition to return to.',
    );
  }
  return {
    platform: 'ecs',
    region: resolveRegion(inputs.string('aws-region')),
    cluster,
    service,
    to: to === 'previous' ? undefined : to,
    allowAnyRevision,
  };
}

function gkeTarget(): GkeRollbackTarget {
  const deployment = inputs.string('deployment');
  if (!deployment)
    throw new UserError(
      'Rolling back on GKE needs deployment, which is empty.',
      "Set deployment (the Kubernetes Deployment's name) and namespace.",
    );
  refuseForeign('gke', [
    ['service', inputs.string('service')],
    ['aws-region', inputs.string('aws-region')],
  ]);
  const to = inputs.string('to', 'previous');
  if (to !== 'previous' && !/^[1-9]\d*$/.test(to)) {
    throw new UserError(
      `Input 'to' is '${to}', which is neither previous nor a Deployment revision number.`,
      'Give previous or a revision number from `kubectl rollout history`.',
    );
  }
  return {
    platform: 'gke',
    deployment,
    namespace: inputs.string('namespace', 'default'),
    projectId: inputs.string('project-id'),
    location: inputs.string('location'),
    cluster: inputs.string('cluster'),
    kubeconfig: inputs.string('kubeconfig'),
    httpRoute: inputs.string('http-route'),
    to: to === 'previous' ? undefined : Number(to),
    allowAnyRevision: inputs.boolean('allow-any-revision', false),
  };
}

export function readSettings(): Settings {
  const chosen = inputs.choice('platform', ['auto', 'ecs', 'gke'], 'auto');
  const platform = chosen === 'auto' ? (inputs.string('deployment') ? 'gke' : 'ecs') : chosen;
  const target = platform === 'gke' ? gkeTarget() : ecsTarget();
  const { environment, githubToken } = readRecordSettings('the GitHub Deployment of the rollback');
  return {
    target,
    reason: inputs.string('reason', ''),
    waitTimeoutMs: inputs.duration('wait-timeout', '15m'),
    environment,
    githubToken,
  };
}
