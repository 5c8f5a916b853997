/**
 * ecs-deploy's `pre-deploy`: a one-off task (a migration) of the new revision, or of a
 * given task definition, run to completion before the rollout changes anything. It runs
 * after the plan is checked and before the rollout record, the service or any traffic is
 * touched; a failure ends the step with the service as it was. The new revision it
 * registers is the one the rollout then deploys (registerTaskDefinition returns it again
 * for the same deployment).
 */
import { info, warning } from '@actions/core';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { DEPLOYMENT_TAG, registerTaskDefinition, taskDefinitionName } from '../../aws/ecs.js';
import { LogsReader } from '../../aws/logs.js';
import { runTask } from '../../aws/run-task.js';
import type { TaskDefinitionInput } from '../../aws/task-definition.js';
import { formatDuration } from '../../util/duration.js';
import { UserError } from '../../util/errors.js';

export interface PreDeploy {
  /** Command override; undefined runs the task definition's own command. */
  command: string[] | undefined;
  /** Another task definition to run (family, family:revision or ARN); undefined: the new revision. */
  taskDefinition: string | undefined;
  timeoutMs: number;
}

export async function runPreDeploy(
  p: PreDeploy,
  o: {
    ecs: ECSClient;
    region: string;
    cluster: string;
    service: string;
    rendered: TaskDefinitionInput;
    container: string | undefined;
    deploymentId: string;
    runId: string;
    signal: AbortSignal;
  },
): Promise<void> {
  let taskDefinition = p.taskDefinition;
  if (!taskDefinition) {
    const tags = [
      ...(o.rendered.tags ?? []).filter((t) => t.key !== DEPLOYMENT_TAG),
      { key: DEPLOYMENT_TAG, value: o.deploymentId },
    ];
    taskDefinition = await registerTaskDefinition(o.ecs, { ...o.rendered, tags }, o.signal);
    info(`pre-deploy: registered the new revision ${taskDefinitionName(taskDefinition)} to run it before the rollout.`);
  }
  const result = await runTask(
    {
      cluster: o.cluster,
      taskDefinition,
      service: o.service,
      ...(p.taskDefinition ? {} : { containerName: o.container }),
      command: p.command,
      startedBy: `ecs-deploy/pre-deploy/${o.runId}`,
      timeoutMs: p.timeoutMs,
    },
    {
      ecs: o.ecs,
      logs: new LogsReader({ region: o.region, credentials: o.ecs.config.credentials }),
      signal: o.signal,
      hooks: {
        info: (l) => info(`pre-deploy: ${l}`),
        warning: (l) => warning(`pre-deploy: ${l}`),
        log: (e) => {
          const at = new Date(e.timestamp).toISOString().slice(11, 19);
          for (const line of e.message.replace(/\r?\n$/, '').split(/\r?\n/)) info(`${at} pre-deploy | ${line}`);
        },
      },
    },
  );
  if (!result.succeeded) {
    throw new UserError(
      `pre-deploy task ${result.taskArn.split('/').pop()} of ${taskDefinitionName(taskDefinition)} failed: ${result.failure}. Nothing was deployed: the service, its task sets and its traffic are as they were.`,
      result.timedOut
        ? 'Raise pre-deploy-timeout if it needs longer, or find what it waits for in its output above.'
        : 'Read its output above, fix the migration (or what it needs), then deploy again. If it changed the database before failing, check that first.',
    );
  }
  info(`pre-deploy: task ${result.taskArn.split('/').pop()} exited with 0 after ${formatDuration(result.durationMs)}.`);
}
