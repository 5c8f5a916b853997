/**
 * ecs-deploy's new revision: the live task definition, the one to start from (a file, a
 * named one, or the live one), the images and environment put in, and what changes.
 * Nothing is registered here: the target registers it when the rollout starts.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { warning } from '@actions/core';
import type { ECSClient, Service } from '@aws-sdk/client-ecs';
import { describeTaskDefinition, describeTaskSets, taskDefinitionName, type ServiceRef } from '../../aws/ecs.js';
import type { EcsEngine } from '../../aws/ecs-engine.js';
import {
  diffTaskDefinitions,
  primaryContainer,
  readTaskDefinitionFile,
  registrationInput,
  renderTaskDefinition,
  type TaskDefinitionInput,
} from '../../aws/task-definition.js';
import { checkPinnedForProduction } from '../../release/image-pinning.js';
import { UserError } from '../../util/errors.js';
import type { Settings } from './settings.js';

export interface Revision {
  /** The live task definition (the primary task set's under EXTERNAL), when the service runs one. */
  liveArn: string | undefined;
  /** Where the new revision started from: a file name or a task definition name. */
  source: string;
  container: string | undefined;
  rendered: TaskDefinitionInput;
  /** "container app: image a → image b"-style lines, live → new. */
  diff: string[];
  /** The image of the primary container. */
  image: string;
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

/** The task definition to start from: a file, a named one, or the live one. */
async function baseTaskDefinition(
  ecs: ECSClient,
  s: Settings,
  liveArn: string,
  signal: AbortSignal,
): Promise<{ td: TaskDefinitionInput; source: string }> {
  const input = s.taskDefinition;
  if (input && !input.startsWith('arn:')) {
    const path = isAbsolute(input) ? input : resolve(process.env.GITHUB_WORKSPACE ?? process.cwd(), input);
    if (isFile(path) || input.endsWith('.json')) return { td: readTaskDefinitionFile(path), source: input };
  }
  const which = input ?? liveArn;
  const described = await describeTaskDefinition(ecs, which, signal);
  const td = registrationInput(described.taskDefinition);
  if (described.tags.length) td.tags = described.tags;
  return { td, source: taskDefinitionName(described.taskDefinition.taskDefinitionArn ?? which) };
}

function whichContainer(s: Settings, source: string, names: string[]): UserError {
  const list = names.join(', ');
  return new UserError(
    `container-name is empty, and task definition ${source} has ${names.length} containers (${list}), so it is not clear which one ${s.image ? 'image' : 'environment-variables'} is for.`,
    `Set container-name to one of: ${list}.`,
  );
}

function resolveContainer(s: Settings, td: TaskDefinitionInput, source: string): string | undefined {
  if (s.containerName) return s.containerName;
  const names = (td.containerDefinitions ?? []).map((c) => c.name as string);
  if (!s.image && s.environmentVariables.length === 0) return undefined;
  if (names.length === 1) return names[0];
  throw whichContainer(s, source, names);
}

/**
 * The images this step puts into the service: every one given by image / images, and
 * any container whose image differs from the live revision (a task definition file).
 * A production environment takes them by digest only (allow-tag overrides).
 */
function refuseTagsInProduction(
  s: Settings,
  given: Array<{ container: string; image: string }>,
  rendered: TaskDefinitionInput,
  live: TaskDefinitionInput | undefined,
): void {
  const liveImage = new Map((live?.containerDefinitions ?? []).map((c) => [c.name, c.image]));
  const introduced = (rendered.containerDefinitions ?? []).filter(
    (c) => given.some((g) => g.container === c.name) || liveImage.get(c.name) !== c.image,
  );
  const images = introduced.map((c) => ({ what: `container ${c.name ?? '?'}`, image: c.image ?? '' }));
  for (const line of checkPinnedForProduction(s.environment, images, s.allowTag)) warning(line);
}

function nothingToStartFrom(service: Service): UserError {
  return new UserError(
    `Service ${service.serviceName} runs no task definition yet, so there is none to start from.`,
    'Give task-definition (a JSON file, a family or an ARN).',
  );
}

/** The new revision for this service, rendered and compared with the live one. */
export async function newRevision(
  s: Settings,
  o: { ecs: ECSClient; service: Service; ref: ServiceRef; engine: EcsEngine; signal: AbortSignal },
): Promise<Revision> {
  const { ecs, signal } = o;
  // The live task definition: the service's, or the primary task set's under EXTERNAL.
  let liveArn = o.service.taskDefinition;
  if (o.engine === 'ecs-task-set') {
    const primary = (await describeTaskSets(ecs, o.ref, signal)).find((t) => t.status === 'PRIMARY');
    liveArn = primary?.taskDefinition ?? liveArn;
  }
  if (!liveArn && !s.taskDefinition) throw nothingToStartFrom(o.service);
  const base = await baseTaskDefinition(ecs, s, liveArn ?? '', signal);
  const container = resolveContainer(s, base.td, base.source);
  const images = [...(s.image && container ? [{ container, image: s.image }] : []), ...s.images];
  const rendered = renderTaskDefinition(base.td, {
    images,
    ...(container && s.environmentVariables.length
      ? { environment: { container, variables: s.environmentVariables } }
      : {}),
    source: base.source,
  });
  const liveTd = !s.taskDefinition
    ? base.td
    : liveArn
      ? registrationInput((await describeTaskDefinition(ecs, liveArn, signal)).taskDefinition)
      : undefined;
  const diff = liveTd ? diffTaskDefinitions(liveTd, rendered) : [];
  const image = primaryContainer(rendered, container)?.image ?? '';
  refuseTagsInProduction(s, images, rendered, liveTd);
  return { liveArn, source: base.source, container, rendered, diff, image };
}
