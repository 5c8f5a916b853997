/**
 * What the task-set engine needs to know of a live service before it changes anything: the
 * primary task set, the listener or rule that carries its traffic, and the two target
 * groups it alternates between (blue holds the primary task set, the new one goes to green).
 */
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ECSClient, Service, TaskSet } from '@aws-sdk/client-ecs';
import { UserError } from '../util/errors.js';
import { assertTaggable, describeRef, describeService, describeTaskSets, type ServiceRef } from './ecs.js';
import {
  describeRoute,
  findRoute,
  loadBalancerArnOf,
  readForward,
  targetGroupName,
  type TrafficRoute,
  type WeightedForward,
} from './elbv2.js';
import { containerPorts, type TaskDefinitionInput } from './task-definition.js';

export interface TaskSetLayoutOptions extends ServiceRef {
  ecs: ECSClient;
  elbv2: ElasticLoadBalancingV2Client;
  /** The listener or rule to shift; found from the stable task set's target group when absent. */
  route?: TrafficRoute;
  /** The two target groups (in any order); read from the route's forward action when absent. */
  targetGroups?: string[];
  /** What to roll out; absent when only a recorded rollout is finished or undone. */
  taskDefinition?: TaskDefinitionInput;
}

/** What preflight learned about the live service. */
export interface Layout {
  service: Service;
  stable: TaskSet;
  route: TrafficRoute;
  forward: WeightedForward;
  blue: string;
  green: string;
  containerName: string;
  containerPort: number;
}

export function targetGroupOf(ts: TaskSet): string | undefined {
  return ts.loadBalancers?.find((lb) => lb.targetGroupArn)?.targetGroupArn;
}

/** Reads the service, its task sets and the route, and checks they fit together. */
export async function inspectTaskSets(
  options: TaskSetLayoutOptions,
  log: (line: string) => void,
  announce: boolean,
  signal?: AbortSignal,
): Promise<Layout> {
  const ref: ServiceRef = { cluster: options.cluster, service: options.service };
  const service = await describeService(options.ecs, ref, signal);
  const controller = service.deploymentController?.type ?? 'ECS';
  if (controller !== 'EXTERNAL') {
    throw new UserError(
      `ECS service ${describeRef(ref)} uses the ${controller} deployment controller; task sets need EXTERNAL.`,
      'Use strategy rolling (or auto) for this service, or create the service with deploymentController EXTERNAL to shift ALB weights between task sets.',
    );
  }
  assertTaggable(service);
  const taskSets = await describeTaskSets(options.ecs, ref, signal);
  const stable = taskSets.find((t) => t.status === 'PRIMARY');
  if (!stable) {
    throw new UserError(
      `ECS service ${describeRef(ref)} has no PRIMARY task set to roll out beside (${taskSets.length} task set(s): ${taskSets.map((t) => `${t.id} ${t.status}`).join(', ') || 'none'}).`,
      'Create the first task set and make it primary (aws ecs create-task-set, then update-service-primary-task-set), e.g. in the Terraform that creates the service.',
    );
  }
  const stableLb = stable.loadBalancers?.find((lb) => lb.targetGroupArn);
  const blue = stableLb?.targetGroupArn;
  if (!stableLb || !blue || !stableLb.containerName || stableLb.containerPort === undefined) {
    throw new UserError(
      `The primary task set ${stable.id} of ${describeRef(ref)} is not behind a target group, so there is no traffic to shift.`,
      "Give the service's task sets a load balancer (target group, container name and port).",
    );
  }

  let route = options.route;
  if (!route) {
    route = await findRoute(options.elbv2, blue, signal);
    if (!route) {
      throw new UserError(
        `No listener or listener rule forwards to ${targetGroupName(blue)}, the target group of the primary task set.`,
        "Give listener-arn or listener-rule-arn: the listener or rule that sends the service's traffic.",
      );
    }
    if (announce) log(`Shifting ${describeRoute(route)}, which forwards to ${targetGroupName(blue)}.`);
  } else {
    loadBalancerArnOf(route.arn);
  }
  const forward = await readForward(options.elbv2, route, signal);
  const forwarded = [...forward.weights.keys()];

  let pair = options.targetGroups;
  if (pair && pair.length > 0) {
    if (pair.length !== 2 || pair[0] === pair[1]) {
      throw new UserError(
        `target-groups must name two different target groups (blue,green), not ${pair.length === 2 ? 'the same one twice' : pair.length}.`,
      );
    }
    const foreign = forwarded.filter((tg) => !pair?.includes(tg));
    if (!pair.some((tg) => forwarded.includes(tg)) || foreign.length > 0) {
      throw new UserError(
        `${describeRoute(route)} forwards to ${forwarded.map(targetGroupName).join(', ')}, not to the target groups ${pair.map(targetGroupName).join(', ')}.`,
        'Give the listener or rule that forwards to exactly these target groups, or correct target-groups.',
      );
    }
  } else {
    if (forwarded.length !== 2) {
      throw new UserError(
        `${describeRoute(route)} forwards to ${forwarded.length === 1 ? 'one target group' : `${forwarded.length} target groups`} (${forwarded.map(targetGroupName).join(', ')}); task sets alternate between two.`,
        'Name both target groups in target-groups (blue,green); the listener then forwards to both with weights.',
      );
    }
    pair = forwarded;
  }
  if (!pair.includes(blue)) {
    throw new UserError(
      `The primary task set ${stable.id} is in target group ${targetGroupName(blue)}, which is not one of ${pair.map(targetGroupName).join(', ')}.`,
      "target-groups and the listener must include the target group the service's primary task set is registered in.",
    );
  }
  const green = pair.find((tg) => tg !== blue) as string;

  const td = options.taskDefinition;
  if (td) {
    const container = (td.containerDefinitions ?? []).find((c) => c.name === stableLb.containerName);
    if (!container) {
      throw new UserError(
        `The load balancer sends traffic to container '${stableLb.containerName}', which the new task definition does not have.`,
        `Keep a container named ${stableLb.containerName} in the task definition.`,
      );
    }
    if (!containerPorts(td, stableLb.containerName).includes(stableLb.containerPort)) {
      throw new UserError(
        `The load balancer sends traffic to port ${stableLb.containerPort} of container '${stableLb.containerName}', which the new task definition does not map.`,
        `Keep containerPort ${stableLb.containerPort} in the container's portMappings.`,
      );
    }
  }
  return {
    service,
    stable,
    route,
    forward,
    blue,
    green,
    containerName: stableLb.containerName,
    containerPort: stableLb.containerPort,
  };
}
