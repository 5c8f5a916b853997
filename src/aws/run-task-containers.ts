/**
 * The containers of a one-off ECS task: which one runs the command, the awslogs stream
 * it writes to, the overrides that carry the command and environment, and how it stopped.
 */
import type { ContainerDefinition, KeyValuePair, Task, TaskOverride } from '@aws-sdk/client-ecs';
import { UserError } from '../util/errors.js';

export interface LogStreamRef {
  group: string;
  stream: string;
}

const severalEssentialContainers = (td: string, essential: ContainerDefinition[]): UserError =>
  new UserError(
    `Task definition ${td} has ${essential.length} essential containers (${essential.map((c) => c.name).join(', ')}), so it is not clear which one runs the command and whose log to follow.`,
    'Set container-name to one of them.',
  );

export function mainContainer(
  defs: ContainerDefinition[],
  wanted: string | undefined,
  td: string,
): ContainerDefinition {
  if (wanted) {
    const found = defs.find((c) => c.name === wanted);
    if (!found)
      throw new UserError(
        `Task definition ${td} has no container '${wanted}' (it has ${defs.map((c) => c.name).join(', ')}).`,
        'Set container-name to one of those.',
      );
    return found;
  }
  const essential = defs.filter((c) => c.essential !== false);
  if (essential.length === 1) return essential[0] as ContainerDefinition;
  throw severalEssentialContainers(td, essential);
}

/** The awslogs stream ECS names for a container of a task: prefix/container/task-id. */
export function awslogsStream(def: ContainerDefinition, taskArn: string): LogStreamRef | undefined {
  const log = def.logConfiguration;
  if (log?.logDriver !== 'awslogs') return undefined;
  const group = log.options?.['awslogs-group'];
  const prefix = log.options?.['awslogs-stream-prefix'];
  if (!group || !prefix) return undefined;
  return { group, stream: `${prefix}/${def.name}/${taskArn.split('/').pop()}` };
}

export function mergeOverrides(
  base: TaskOverride | undefined,
  container: string,
  command: string[] | undefined,
  environment: KeyValuePair[] | undefined,
): TaskOverride | undefined {
  if (!command && !environment?.length) return base;
  const overrides: TaskOverride = { ...(base ?? {}) };
  const list = [...(overrides.containerOverrides ?? [])];
  const at = list.findIndex((c) => c.name === container);
  const current = at >= 0 ? { ...list[at] } : { name: container };
  if (command) current.command = command;
  if (environment?.length) {
    const byName = new Map((current.environment ?? []).map((e) => [e.name, e]));
    for (const e of environment) byName.set(e.name, e);
    current.environment = [...byName.values()];
  }
  if (at >= 0) list[at] = current;
  else list.push(current);
  overrides.containerOverrides = list;
  return overrides;
}

export function describeStop(
  task: Task,
  container: string,
  essential: Set<string>,
): { exitCode: number | undefined; failure: string | undefined } {
  const reason = task.stoppedReason?.trim() || task.stopCode || 'ECS gave no reason';
  const containers = task.containers ?? [];
  const main = containers.find((c) => c.name === container);
  const exitCode = main?.exitCode ?? undefined;
  const failed = containers.filter(
    (c) =>
      (c.name === container || essential.has(c.name ?? '')) &&
      c.exitCode !== undefined &&
      c.exitCode !== null &&
      c.exitCode !== 0,
  );
  const essentialFailed = failed.find((c) => c.name === container) ?? failed[0];
  if (essentialFailed) {
    const why = essentialFailed.reason ? `, ${essentialFailed.reason}` : '';
    return {
      exitCode: essentialFailed.exitCode ?? exitCode,
      failure: `container ${essentialFailed.name} exited with code ${essentialFailed.exitCode}${why}; the task stopped: ${reason}`,
    };
  }
  if (exitCode === undefined || exitCode === null) {
    const why = main?.reason ? ` (container ${container}: ${main.reason})` : '';
    return {
      exitCode: undefined,
      failure: `container ${container} never ran to an exit code; the task stopped: ${reason}${why}`,
    };
  }
  return { exitCode, failure: undefined };
}
