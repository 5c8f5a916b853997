import type { CapacityProviderStrategyItem, KeyValuePair, TaskOverride } from '@aws-sdk/client-ecs';
import { resolveRegion } from '../../aws/client.js';
import {
  parseCapacityProviderStrategy,
  parseCommand,
  parseEnvironment,
  parseOverrides,
} from '../../aws/run-task-input.js';
import { inputs } from '../../github/inputs.js';
import { UserError } from '../../util/errors.js';

/** Everything ecs-run-task needs, checked before anything touches AWS. */
export interface Settings {
  region: string;
  cluster: string;
  /** family, family:revision or ARN; undefined: the service's live one. */
  taskDefinition: string | undefined;
  service: string | undefined;
  containerName: string | undefined;
  command: string[] | undefined;
  environment: KeyValuePair[];
  overrides: TaskOverride | undefined;
  subnets: string[];
  securityGroups: string[];
  assignPublicIp: 'ENABLED' | 'DISABLED' | undefined;
  capacityProviderStrategy: CapacityProviderStrategyItem[] | undefined;
  launchType: 'FARGATE' | 'EC2' | 'EXTERNAL' | undefined;
  timeoutMs: number;
}

const TASK_DEFINITION = /^(arn:[^:]+:ecs:[^:]+:\d{12}:task-definition\/)?[A-Za-z0-9_-]{1,255}(:\d+)?$/;

const notATaskDefinition = (taskDefinition: string): UserError =>
  new UserError(
    `task-definition '${taskDefinition}' is not a family, family:revision or task definition ARN.`,
    'For example open-webui-migrate:12 or arn:aws:ecs:us-east-1:111111111111:task-definition/open-webui:12.',
  );

export function readSettings(): Settings {
  const cluster = inputs.required('cluster');
  const region = resolveRegion(inputs.string('aws-region'));
  const taskDefinition = inputs.string('task-definition');
  const service = inputs.string('service');
  if (!taskDefinition && !service) {
    throw new UserError(
      'Neither task-definition nor service is set, so there is no task to run.',
      'Set task-definition (family, family:revision or ARN), or service to run its live task definition.',
    );
  }
  if (taskDefinition && !TASK_DEFINITION.test(taskDefinition)) {
    throw notATaskDefinition(taskDefinition);
  }
  const subnets = inputs.list('subnets');
  const securityGroups = inputs.list('security-groups');
  for (const s of subnets)
    if (!/^subnet-[0-9a-f]{8,17}$/.test(s))
      throw new UserError(
        `subnets has '${s}', which is not a subnet id.`,
        'Subnet ids look like subnet-0123456789abcdef0.',
      );
  for (const g of securityGroups)
    if (!/^sg-[0-9a-f]{8,17}$/.test(g))
      throw new UserError(
        `security-groups has '${g}', which is not a security group id.`,
        'Security group ids look like sg-0123456789abcdef0.',
      );
  if (securityGroups.length > 0 && subnets.length === 0)
    throw new UserError(
      'security-groups is set but subnets is empty.',
      'Give the subnets too (or neither, to copy both from service).',
    );
  const publicIp = inputs.choice('assign-public-ip', ['auto', 'ENABLED', 'DISABLED'], 'auto');
  if (publicIp !== 'auto' && subnets.length === 0)
    throw new UserError('assign-public-ip is set but subnets is empty.', 'It only applies with subnets given here.');
  const capacityProviderStrategy = parseCapacityProviderStrategy(
    inputs.list('capacity-provider-strategy'),
    "Input 'capacity-provider-strategy'",
  );
  const launchTypeInput = inputs.choice('launch-type', ['auto', 'FARGATE', 'EC2', 'EXTERNAL'], 'auto');
  if (capacityProviderStrategy && launchTypeInput !== 'auto')
    throw new UserError(
      'Both capacity-provider-strategy and launch-type are set; ECS takes one or the other.',
      'Remove one of them.',
    );
  return {
    region,
    cluster,
    taskDefinition,
    service,
    containerName: inputs.string('container-name'),
    command: parseCommand(inputs.string('command'), "Input 'command'"),
    environment: parseEnvironment(inputs.lines('environment-variables'), "Input 'environment-variables'"),
    overrides: parseOverrides(inputs.string('overrides'), "Input 'overrides'"),
    subnets,
    securityGroups,
    assignPublicIp: publicIp === 'auto' ? undefined : publicIp,
    capacityProviderStrategy,
    launchType: launchTypeInput === 'auto' ? undefined : launchTypeInput,
    timeoutMs: inputs.duration('wait-timeout', '30m'),
  };
}
