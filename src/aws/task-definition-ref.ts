/** Names of ECS task definitions and services, split into their parts (and checked while at it). */

import { taskDefinitionName } from './ecs.js';

/** `family:revision`. */
export const TASK_DEFINITION_NAME = /^([A-Za-z0-9_-]{1,255}):([1-9]\d{0,8})$/;
const ARN = /^arn:([^:]+):ecs:([^:]+):(\d{12}):task-definition\/([A-Za-z0-9_-]{1,255}):([1-9]\d{0,8})$/;

/** A task definition named by ARN or `family:revision`, split; undefined when it is neither. */
export interface TaskDefinitionRef {
  family: string;
  revision: number;
  /** Only for an ARN. */
  account?: string;
  region?: string;
  partition?: string;
}

export function parseTaskDefinitionRef(text: string): TaskDefinitionRef | undefined {
  const arn = ARN.exec(text);
  if (arn)
    return {
      partition: arn[1] as string,
      region: arn[2] as string,
      account: arn[3] as string,
      family: arn[4] as string,
      revision: Number(arn[5]),
    };
  const name = TASK_DEFINITION_NAME.exec(text);
  return name ? { family: name[1] as string, revision: Number(name[2]) } : undefined;
}

/** Account and region of an ECS service ARN (arn:aws:ecs:REGION:ACCOUNT:service/...). */
export function serviceLocation(serviceArn: string): { region: string; account: string } {
  const [, , , region = '', account = ''] = serviceArn.split(':');
  return { region, account };
}

/** The family of a task definition ARN or name. */
export function familyOf(arnOrName: string): string {
  return taskDefinitionName(arnOrName).split(':')[0] ?? '';
}
