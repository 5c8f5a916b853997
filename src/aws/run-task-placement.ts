/** Where a one-off ECS task runs and what it starts from: copied from a service's tasks. */
import {
  DescribeTaskSetsCommand,
  type CapacityProviderStrategyItem,
  type ECSClient,
  type LaunchType,
  type NetworkConfiguration,
} from '@aws-sdk/client-ecs';
import { UserError } from '../util/errors.js';
import { describeService } from './ecs.js';

/** Where and how a task is placed. */
export interface Placement {
  networkConfiguration?: NetworkConfiguration;
  capacityProviderStrategy?: CapacityProviderStrategyItem[];
  launchType?: LaunchType;
  platformVersion?: string;
  /** Where these came from, for the log. */
  source: string;
}

/** The placement of a service's tasks: from the service, or for an EXTERNAL service from its primary task set. */
export async function servicePlacement(
  ecs: ECSClient,
  cluster: string,
  service: string,
  signal?: AbortSignal,
): Promise<Placement> {
  const svc = await describeService(ecs, { cluster, service }, signal);
  let from: {
    networkConfiguration?: NetworkConfiguration;
    capacityProviderStrategy?: CapacityProviderStrategyItem[];
    launchType?: LaunchType;
    platformVersion?: string;
  } = svc;
  let source = `service ${svc.serviceName}`;
  if (svc.deploymentController?.type === 'EXTERNAL') {
    const sets =
      (
        await ecs.send(
          new DescribeTaskSetsCommand({ cluster, service: svc.serviceArn }),
          signal ? { abortSignal: signal } : {},
        )
      ).taskSets ?? [];
    const primary = sets.find((t) => t.status === 'PRIMARY') ?? sets[0];
    if (primary) {
      from = primary;
      source = `the primary task set of service ${svc.serviceName}`;
    }
  }
  const network = from.networkConfiguration?.awsvpcConfiguration ? from.networkConfiguration : undefined;
  return {
    ...(network ? { networkConfiguration: network } : {}),
    ...(from.capacityProviderStrategy?.length
      ? { capacityProviderStrategy: from.capacityProviderStrategy }
      : from.launchType
        ? { launchType: from.launchType }
        : {}),
    ...(from.platformVersion && from.platformVersion !== 'LATEST' ? { platformVersion: from.platformVersion } : {}),
    source,
  };
}

/** The task definition a service runs now (for an EXTERNAL service, its primary task set's). */
export async function serviceTaskDefinition(
  ecs: ECSClient,
  cluster: string,
  service: string,
  signal?: AbortSignal,
): Promise<string> {
  const svc = await describeService(ecs, { cluster, service }, signal);
  let td = svc.taskDefinition;
  if (svc.deploymentController?.type === 'EXTERNAL') {
    const sets =
      (
        await ecs.send(
          new DescribeTaskSetsCommand({ cluster, service: svc.serviceArn }),
          signal ? { abortSignal: signal } : {},
        )
      ).taskSets ?? [];
    td = (sets.find((t) => t.status === 'PRIMARY') ?? sets[0])?.taskDefinition ?? td;
  }
  if (!td)
    throw new UserError(`Service ${service} runs no task definition to start a task of.`, 'Set task-definition.');
  return td;
}
