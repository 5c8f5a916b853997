/**
 * One task set's lifecycle under the EXTERNAL deployment controller: created in the target
 * group that does not hold the primary one, waited for until its tasks run and pass the
 * target group's health checks, made primary, deleted. The task-set workload
 * (ecs-task-set-workload.ts) decides when; nothing here knows of traffic or the record.
 */
import {
  CreateTaskSetCommand,
  DeleteTaskSetCommand,
  UpdateServicePrimaryTaskSetCommand,
  type TaskSet,
} from '@aws-sdk/client-ecs';
import type { Observation } from '../delivery/types.js';
import type { Clock } from '../util/clock.js';
import { UserError } from '../util/errors.js';
import { poll } from '../util/poll.js';
import { awsErrorCode } from './client.js';
import {
  DEPLOYMENT_TAG,
  describeRef,
  describeTaskSets,
  explainEcsError,
  stoppedTaskReasons,
  taskDefinitionName,
} from './ecs.js';
import { targetGroupName, targetHealth } from './elbv2.js';
import type { Layout, TaskSetLayoutOptions } from './ecs-task-set-layout.js';

type Options = Pick<TaskSetLayoutOptions, 'ecs' | 'elbv2' | 'cluster' | 'service'>;

function ref(o: Options) {
  return { cluster: o.cluster, service: o.service };
}

/** Creates the new task set of `taskDefinition` in the layout's green target group, like the stable one, with no traffic. */
export async function createTaskSet(
  o: Options,
  l: Layout,
  taskDefinition: string,
  deploymentId: string,
  signal?: AbortSignal,
): Promise<TaskSet> {
  const s = l.stable;
  try {
    const res = await o.ecs.send(
      new CreateTaskSetCommand({
        cluster: o.cluster,
        service: o.service,
        taskDefinition,
        externalId: deploymentId,
        clientToken: deploymentId.slice(0, 36),
        loadBalancers: [{ targetGroupArn: l.green, containerName: l.containerName, containerPort: l.containerPort }],
        ...(s.networkConfiguration ? { networkConfiguration: s.networkConfiguration } : {}),
        ...(s.capacityProviderStrategy?.length
          ? { capacityProviderStrategy: s.capacityProviderStrategy }
          : s.launchType
            ? { launchType: s.launchType }
            : {}),
        ...(s.platformVersion && s.launchType === 'FARGATE' ? { platformVersion: s.platformVersion } : {}),
        ...(s.serviceRegistries?.length ? { serviceRegistries: s.serviceRegistries } : {}),
        scale: { unit: 'PERCENT', value: 100 },
        tags: [{ key: DEPLOYMENT_TAG, value: deploymentId }],
      }),
      signal ? { abortSignal: signal } : {},
    );
    if (!res.taskSet?.id) throw new Error('ECS created the task set but returned no id');
    return res.taskSet;
  } catch (err) {
    throw explainEcsError(err, `Creating the new task set of ${describeRef(ref(o))}`);
  }
}

/** Waits until task set `id` is steady with every task running and every target in `tg` healthy. */
export async function waitTaskSetHealthy(
  o: Options & { waitTimeoutMs: number },
  id: string,
  tg: string,
  how: { clock: Clock; log: (line: string) => void },
  signal?: AbortSignal,
): Promise<void> {
  await poll(
    async () => {
      const ts = (await describeTaskSets(o.ecs, ref(o), signal)).find((t) => t.id === id);
      if (!ts)
        throw new UserError(
          `The new task set ${id} disappeared while starting.`,
          "Something else deleted it; look at the service's events.",
        );
      const stopped = await stoppedTaskReasons(o.ecs, { cluster: o.cluster, startedBy: id }, signal, 3);
      if (stopped.length >= 3) throw new UserError(`Tasks of the new task set keep stopping: ${stopped.join('; ')}`);
      const health = await targetHealth(o.elbv2, tg, signal);
      const desired = ts.computedDesiredCount;
      const running = ts.runningCount;
      const tasksOk = desired === undefined || running === undefined || running >= desired;
      const targetsOk = health.problems.length === 0 && (desired === undefined || health.healthy >= desired);
      const status = `task set ${ts.stabilityStatus ?? 'unknown'}, ${running ?? '?'} of ${desired ?? '?'} tasks running, ${health.healthy} of ${health.total} targets healthy in ${targetGroupName(tg)}${health.problems.length ? ` (${health.problems.slice(0, 3).join('; ')})` : ''}`;
      if (ts.stabilityStatus === 'STEADY_STATE' && tasksOk && targetsOk) return { done: true, value: undefined };
      return { done: false, status };
    },
    {
      what: `task set ${id} to run its tasks and pass the target group's health checks`,
      timeoutMs: o.waitTimeoutMs,
      initialDelayMs: 1000,
      maxDelayMs: 15_000,
      clock: how.clock,
      ...(signal ? { signal } : {}),
      onWait: ({ status }) => how.log(`  waiting: ${status}`),
      timeoutHint: 'Raise wait-timeout if the tasks are only slow to start; otherwise see why below.',
    },
  );
}

/** Whether task set `id` could take traffic: it exists, runs a task and has a healthy target in `tg`. Changes nothing. */
export async function taskSetReadiness(
  o: Options,
  id: string,
  tg: string,
  signal?: AbortSignal,
): Promise<Omit<Observation, 'traffic'>> {
  const ts = (await describeTaskSets(o.ecs, ref(o), signal)).find((t) => t.id === id);
  if (!ts || ts.status === 'DRAINING')
    return {
      canaryReady: false,
      reason: `the new task set ${id} ${ts ? 'is draining' : 'no longer exists'} (someone else deleted it?)`,
    };
  if (ts.runningCount !== undefined && ts.runningCount < 1)
    return {
      canaryReady: false,
      reason: `the new task set ${id} runs no task (${ts.runningCount} running)`,
    };
  const health = await targetHealth(o.elbv2, tg, signal);
  if (health.healthy < 1)
    return {
      canaryReady: false,
      reason: `no healthy target in ${targetGroupName(tg)}${health.problems.length ? ` (${health.problems.slice(0, 3).join('; ')})` : ''}`,
    };
  return { canaryReady: true };
}

/** UpdateServicePrimaryTaskSet. */
export async function makePrimary(o: Options, taskSetArn: string, signal?: AbortSignal): Promise<void> {
  await o.ecs.send(
    new UpdateServicePrimaryTaskSetCommand({ cluster: o.cluster, service: o.service, primaryTaskSet: taskSetArn }),
    signal ? { abortSignal: signal } : {},
  );
}

/** Deletes a task set (forced); one already gone is fine. */
export async function deleteTaskSet(
  o: Options,
  ts: TaskSet,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  try {
    await o.ecs.send(
      new DeleteTaskSetCommand({
        cluster: o.cluster,
        service: o.service,
        taskSet: ts.taskSetArn ?? (ts.id as string),
        force: true,
      }),
      signal ? { abortSignal: signal } : {},
    );
    log(`Deleted task set ${ts.id} (${taskDefinitionName(ts.taskDefinition ?? '')}).`);
  } catch (err) {
    if (awsErrorCode(err) === 'TaskSetNotFoundException') return;
    throw err;
  }
}
