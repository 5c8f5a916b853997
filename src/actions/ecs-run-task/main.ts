import { info, warning } from '@actions/core';
import { ecsClient } from '../../aws/ecs.js';
import { LogsReader } from '../../aws/logs.js';
import { runTask, type RunTaskResult } from '../../aws/run-task.js';
import { serviceTaskDefinition } from '../../aws/run-task-placement.js';
import { runContext } from '../../github/context.js';
import { code, codeBlock, details, facts, heading } from '../../github/markdown.js';
import { outputs } from '../../github/outputs.js';
import type { StepContext } from '../../github/run.js';
import { writeSummary } from '../../github/summary.js';
import { formatDuration } from '../../util/duration.js';
import { UserError } from '../../util/errors.js';
import type { Settings } from './settings.js';

/** How many of the task's last lines the job summary keeps. */
const SUMMARY_LINES = 40;

/**
 * One line of the task's output for the job log. Prefixed with its time, so a line the
 * task wrote can never be read by the runner as a workflow command (`::add-mask::`,
 * `::set-output::`, `::error::` only count at the start of a line).
 */
export function logLine(timestamp: number, message: string, container: string): string[] {
  const at = new Date(timestamp).toISOString().slice(11, 19);
  return message
    .replace(/\r?\n$/, '')
    .split(/\r?\n/)
    .map((l) => `${at} ${container} | ${l}`);
}

const taskFailed = (id: string, taskDefinition: string, result: RunTaskResult): UserError =>
  new UserError(
    `Task ${id} of ${taskDefinition.split('/').pop()} failed: ${result.failure}.`,
    result.timedOut
      ? 'Raise wait-timeout if the task needs longer, or find what it waits for in its output above.'
      : result.exitCode !== undefined
        ? 'The task ran and its command failed: read its output above (or in the log stream), fix the command or what it needs (database, secrets, permissions), then re-run.'
        : 'ECS stopped the task before its command ran: the reason above says why (image pull, secrets, ENI or capacity); fix that, then re-run.',
  );

export async function main(s: Settings, ctx: StepContext): Promise<void> {
  const ecs = ecsClient({ region: s.region, maxAttempts: 5 });
  const logs = new LogsReader({ region: s.region, credentials: ecs.config.credentials });
  const run = runContext();
  const taskDefinition =
    s.taskDefinition ?? (await serviceTaskDefinition(ecs, s.cluster, s.service as string, ctx.signal));
  const tail: string[] = [];
  let container = s.containerName ?? 'task';
  const result: RunTaskResult = await runTask(
    {
      cluster: s.cluster,
      taskDefinition,
      service: s.service,
      placement: {
        ...(s.subnets.length
          ? {
              networkConfiguration: {
                awsvpcConfiguration: {
                  subnets: s.subnets,
                  securityGroups: s.securityGroups,
                  ...(s.assignPublicIp ? { assignPublicIp: s.assignPublicIp } : {}),
                },
              },
            }
          : {}),
        ...(s.capacityProviderStrategy ? { capacityProviderStrategy: s.capacityProviderStrategy } : {}),
        ...(s.launchType ? { launchType: s.launchType } : {}),
      },
      containerName: s.containerName,
      command: s.command,
      environment: s.environment,
      overrides: s.overrides,
      startedBy: `ecs-run-task/${run.runId || 'local'}`,
      timeoutMs: s.timeoutMs,
    },
    {
      ecs,
      logs,
      signal: ctx.signal,
      hooks: {
        info,
        warning,
        log: (e) => {
          for (const line of logLine(e.timestamp, e.message, container)) {
            info(line);
            tail.push(line);
            if (tail.length > SUMMARY_LINES) tail.shift();
          }
        },
        started: (taskArn, stream) => {
          outputs.set('task-arn', taskArn);
          outputs.set('log-group', stream?.group ?? '');
          outputs.set('log-stream', stream?.stream ?? '');
          container = stream?.stream.split('/')[1] ?? container;
        },
      },
    },
  );
  outputs.set('exit-code', result.exitCode === undefined ? '' : String(result.exitCode));

  const id = result.taskArn.split('/').pop() as string;
  const rows: Array<[string, string]> = [
    ['Task', code(result.taskArn)],
    ['Task definition', code(taskDefinition.split('/').pop() ?? taskDefinition)],
    ['Container', code(result.container)],
    ['Exit code', result.exitCode === undefined ? 'none (it never ran to an exit)' : String(result.exitCode)],
    ['Stopped because', result.stoppedReason ? code(result.stoppedReason) : 'ECS gave no reason'],
    ['Took', formatDuration(result.durationMs)],
    [
      'Log',
      result.logStream
        ? `${code(result.logStream.group)} ${code(result.logStream.stream)} (${result.lines} lines)`
        : 'no awslogs stream',
    ],
  ];
  const logs_ = tail.length ? details(`Last ${tail.length} lines`, codeBlock(tail.join('\n')), !result.succeeded) : '';
  await writeSummary(heading(`ecs-run-task: ${result.succeeded ? 'succeeded' : 'failed'}`) + facts(rows) + logs_);

  if (!result.succeeded) {
    throw taskFailed(id, taskDefinition, result);
  }
  info(`Task ${id} exited with code ${result.exitCode} after ${formatDuration(result.durationMs)}.`);
}
