/**
 * ecs-deploy's resume: the service's paused rollout, and the paused task set checked to
 * run what this job was given (the same images, and the same task definition when one
 * was named by ARN).
 */
import { info } from '@actions/core';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { describeTaskDefinition, taskDefinitionName } from '../../aws/ecs.js';
import type { TaskDefinitionInput } from '../../aws/task-definition.js';
import { canaryImageMismatch, pausedRollout } from '../../delivery/deploy-resume.js';
import type { RolloutRecord, Target } from '../../delivery/types.js';
import { UserError } from '../../util/errors.js';

/** Resume: the service's paused rollout, checked to be one (the engine checks again when it takes it over). */
export async function pausedRecord(target: Target, name: string, signal: AbortSignal): Promise<RolloutRecord> {
  return pausedRollout(name, await target.loadRecord(signal), info);
}

function nothingToCompare(record: RolloutRecord): UserError {
  return new UserError(
    `The paused task set ${record.canary} has no task definition to compare with. Nothing was changed.`,
    'Run the rollback action, then deploy again.',
  );
}

function otherTaskDefinition(name: string, given: string, canaryArn: string): UserError {
  const wanted = taskDefinitionName(given);
  return new UserError(
    `The paused canary runs task definition ${name}, not ${wanted} as this job was given. Nothing was changed.`,
    `Resume with task-definition ${canaryArn} (what was approved when it paused), or roll the canary back with the rollback action and deploy ${wanted} anew.`,
  );
}

/**
 * Resume: the paused task set must run what this job was given: the same image in every
 * container (and the same task definition, when one was named by ARN).
 */
export async function verifyCanary(
  ecs: ECSClient,
  record: RolloutRecord,
  canaryArn: string | undefined,
  wanted: TaskDefinitionInput,
  given: string | undefined,
): Promise<void> {
  if (!canaryArn) throw nothingToCompare(record);
  const canary = (await describeTaskDefinition(ecs, canaryArn)).taskDefinition;
  const name = taskDefinitionName(canaryArn);
  if (given?.startsWith('arn:') && taskDefinitionName(given) !== name)
    throw otherTaskDefinition(name, given, canaryArn);
  const images = (list: Array<{ name?: string; image?: string }> | undefined) =>
    (list ?? []).map((c) => ({ name: c.name as string, image: c.image }));
  const mismatch = canaryImageMismatch(
    `(${name})`,
    images(canary.containerDefinitions),
    images(wanted.containerDefinitions),
  );
  if (mismatch) throw mismatch;
  info(`The paused canary ${record.canary} runs ${name}, the images this job was given.`);
}
