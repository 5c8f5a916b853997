/**
 * ECS service deployments (the history and the live state of a service's deployments,
 * with native BLUE_GREEN / CANARY / LINEAR strategies): find the ones in flight, read one,
 * act on a PAUSE lifecycle hook (ContinueServiceDeployment) and stop one with rollback
 * (StopServiceDeployment). Every call takes the abort signal; refusals a user can act on
 * become UserErrors.
 */
import {
  ContinueServiceDeploymentCommand,
  DescribeServiceDeploymentsCommand,
  ListServiceDeploymentsCommand,
  StopServiceDeploymentCommand,
  type DeploymentLifecycleHookDetail,
  type ECSClient,
  type ServiceDeployment,
  type ServiceDeploymentBrief,
  type ServiceDeploymentStatus,
} from '@aws-sdk/client-ecs';
import { errorMessage, UserError } from '../util/errors.js';
import { awsErrorCode } from './client.js';
import { describeRef, explainEcsError, type ServiceRef } from './ecs.js';

/** States of a deployment ECS is still working on (forward or back). */
export const IN_FLIGHT: readonly ServiceDeploymentStatus[] = [
  'PENDING',
  'IN_PROGRESS',
  'STOP_REQUESTED',
  'ROLLBACK_REQUESTED',
  'ROLLBACK_IN_PROGRESS',
];
/** States in which a deployment moves forward, towards the new revision. */
export const FORWARD: readonly ServiceDeploymentStatus[] = ['PENDING', 'IN_PROGRESS'];
/** States of a deployment ECS is taking back. */
export const ROLLING_BACK: readonly ServiceDeploymentStatus[] = ['ROLLBACK_REQUESTED', 'ROLLBACK_IN_PROGRESS'];

/**
 * The lifecycle stages of a BLUE_GREEN / CANARY / LINEAR deployment, in order. For canary
 * and linear, PRE_PRODUCTION_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT repeat for every
 * traffic step.
 */
export const STAGES = [
  'RECONCILE_SERVICE',
  'PRE_SCALE_UP',
  'SCALE_UP',
  'POST_SCALE_UP',
  'TEST_TRAFFIC_SHIFT',
  'POST_TEST_TRAFFIC_SHIFT',
  'PRE_PRODUCTION_TRAFFIC_SHIFT',
  'PRODUCTION_TRAFFIC_SHIFT',
  'POST_PRODUCTION_TRAFFIC_SHIFT',
  'BAKE_TIME',
  'CLEAN_UP',
] as const;
export type Stage = (typeof STAGES)[number];

/** Position of a stage in the lifecycle; -1 when unknown. */
export function stageIndex(stage: string | undefined): number {
  return stage ? (STAGES as readonly string[]).indexOf(stage) : -1;
}

const abort = (signal?: AbortSignal) => (signal ? { abortSignal: signal } : {});

/** The service deployment ARN for an id, in the account, region, cluster and service of a service ARN. */
export function serviceDeploymentArn(serviceArn: string, id: string): string {
  return `${serviceArn.replace(':service/', ':service-deployment/')}/${id}`;
}

/** The id (last part) of a service deployment ARN. */
export function serviceDeploymentId(arn: string): string {
  return arn.split('/').pop() ?? arn;
}

function explain(err: unknown, what: string): Error {
  const code = awsErrorCode(err);
  if (code === 'ServiceDeploymentNotFoundException') {
    return new UserError(
      `${what}: ECS knows no such service deployment (${errorMessage(err)}).`,
      'It may belong to another region or account; check aws-region.',
      { cause: err },
    );
  }
  if (code === 'UnsupportedFeatureException') {
    return new UserError(
      `${what}: ${errorMessage(err)}.`,
      'Service deployments and lifecycle hooks are not available in this region.',
      { cause: err },
    );
  }
  return explainEcsError(err, what);
}

/** Deployments of a service ECS is still working on, newest first. */
export async function inFlightDeployments(
  client: ECSClient,
  ref: ServiceRef,
  signal?: AbortSignal,
): Promise<ServiceDeploymentBrief[]> {
  const found: ServiceDeploymentBrief[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const res = await client.send(
        new ListServiceDeploymentsCommand({
          cluster: ref.cluster,
          service: ref.service,
          status: [...IN_FLIGHT],
          maxResults: 20,
          ...(nextToken ? { nextToken } : {}),
        }),
        abort(signal),
      );
      found.push(...(res.serviceDeployments ?? []));
      nextToken = res.nextToken;
    } while (nextToken);
  } catch (err) {
    throw explain(err, `Listing the deployments of ${describeRef(ref)}`);
  }
  return found.sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0));
}

const deploymentNotDescribed = (arn: string, reason: string): UserError =>
  new UserError(
    `ECS did not describe service deployment ${serviceDeploymentId(arn)} (${reason}).`,
    'The deployment may have been made before service deployments were recorded (October 2024), or in another region.',
  );

/** One service deployment, which must exist. */
export async function describeServiceDeployment(
  client: ECSClient,
  arn: string,
  signal?: AbortSignal,
): Promise<ServiceDeployment> {
  let res;
  try {
    res = await client.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }), abort(signal));
  } catch (err) {
    throw explain(err, `Reading service deployment ${serviceDeploymentId(arn)}`);
  }
  const found = res.serviceDeployments?.find((d) => d.serviceDeploymentArn === arn) ?? res.serviceDeployments?.[0];
  if (!found) {
    const reason = res.failures?.[0]?.reason ?? 'MISSING';
    throw deploymentNotDescribed(arn, reason);
  }
  return found;
}

/** The PAUSE hook the deployment waits at, if it does. */
export function pausedHook(deployment: ServiceDeployment): DeploymentLifecycleHookDetail | undefined {
  return (deployment.lifecycleHookDetails ?? []).find(
    (h) => h.targetType === 'PAUSE' && h.status === 'AWAITING_ACTION' && h.hookId,
  );
}

/** Percentage of production traffic ECS reports on the new revision (a snapshot). */
export function productionWeight(deployment: ServiceDeployment): number {
  return (
    deployment.targetServiceRevision?.requestedProductionTrafficWeight ?? (deployment.status === 'SUCCESSFUL' ? 100 : 0)
  );
}

/** "IN_PROGRESS at PRODUCTION_TRAFFIC_SHIFT, 10% of production traffic, 2/2 tasks, paused at a PAUSE hook" for logs. */
export function describeDeploymentState(d: ServiceDeployment): string {
  const target = d.targetServiceRevision;
  const parts = [
    `${d.status ?? 'UNKNOWN'}${d.lifecycleStage ? ` at ${d.lifecycleStage}` : ''}`,
    `${productionWeight(d)}% of production traffic on the new revision`,
    ...(target?.requestedTaskCount !== undefined
      ? [`${target.runningTaskCount ?? 0}/${target.requestedTaskCount} new tasks running`]
      : []),
    ...(pausedHook(d) ? ['paused at a PAUSE hook'] : []),
    ...(d.statusReason ? [d.statusReason] : []),
  ];
  return parts.join(', ');
}

/** Resolves a PAUSE hook: CONTINUE to the next stage, or ROLLBACK to the previous revision. */
export async function continueServiceDeployment(
  client: ECSClient,
  arn: string,
  hookId: string,
  action: 'CONTINUE' | 'ROLLBACK',
  signal?: AbortSignal,
): Promise<void> {
  try {
    await client.send(
      new ContinueServiceDeploymentCommand({ serviceDeploymentArn: arn, hookId, action }),
      abort(signal),
    );
  } catch (err) {
    throw explain(err, `Continuing service deployment ${serviceDeploymentId(arn)} (${action})`);
  }
}

/** Stops a deployment and has ECS roll it back to the revision that ran before it. */
export async function stopServiceDeployment(client: ECSClient, arn: string, signal?: AbortSignal): Promise<void> {
  try {
    await client.send(
      new StopServiceDeploymentCommand({ serviceDeploymentArn: arn, stopType: 'ROLLBACK' }),
      abort(signal),
    );
  } catch (err) {
    throw explain(err, `Stopping service deployment ${serviceDeploymentId(arn)} with rollback`);
  }
}
