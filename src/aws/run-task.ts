/**
 * A one-off ECS task (a migration, a seed, a check) run to completion: placed like a
 * service's tasks (its network configuration and capacity provider strategy or launch
 * type, unless given), its awslogs stream followed while it runs, and judged by its
 * essential containers' exit codes. A deadline stops the task; so does a cancelled job.
 */
import {
  DescribeTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
  type ECSClient,
  type KeyValuePair,
  type Task,
  type TaskOverride,
} from '@aws-sdk/client-ecs';
import { systemClock, type Clock } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { errorMessage, UserError } from '../util/errors.js';
import { describeTaskDefinition, explainEcsError, taskDefinitionName } from './ecs.js';
import type { LogEvent, LogsReader } from './logs.js';
import {
  awslogsStream,
  describeStop,
  mainContainer,
  mergeOverrides,
  type LogStreamRef,
} from './run-task-containers.js';
import { servicePlacement, type Placement } from './run-task-placement.js';

export interface RunTaskRequest {
  cluster: string;
  /** family, family:revision or ARN. */
  taskDefinition: string;
  /** A service to copy the placement from (what `placement` does not give). */
  service?: string;
  /** Given placement; each part set here wins over the service's. */
  placement?: Partial<Omit<Placement, 'source'>>;
  /** The container that command / environment apply to and whose logs are followed; default the only essential one. */
  containerName?: string;
  command?: string[];
  environment?: KeyValuePair[];
  /** Further overrides (the RunTask `overrides` shape); command / environment are merged into its container. */
  overrides?: TaskOverride;
  startedBy: string;
  timeoutMs: number;
}

export interface RunTaskHooks {
  /** A line of the job log (progress, not the task's own output). */
  info(line: string): void;
  warning(line: string): void;
  /** One line the task's container wrote. */
  log(event: LogEvent): void;
  /** Called as soon as the task exists (outputs can carry it whatever happens next). */
  started?(taskArn: string, logStream: LogStreamRef | undefined): void;
}

export interface RunTaskResult {
  taskArn: string;
  container: string;
  /** The essential container's exit code; undefined when it never ran. */
  exitCode: number | undefined;
  stoppedReason: string;
  logStream: LogStreamRef | undefined;
  /** Lines read from the log stream. */
  lines: number;
  /** How long from RunTask to STOPPED. */
  durationMs: number;
  succeeded: boolean;
  /** It was stopped for running past the timeout. */
  timedOut: boolean;
  /** Why it failed, in words (undefined when it succeeded). */
  failure?: string;
}

export interface RunTaskOptions {
  ecs: ECSClient;
  logs: LogsReader | undefined;
  hooks: RunTaskHooks;
  signal?: AbortSignal;
  clock?: Clock;
  /** Between looks at the task and its log (ms). Default 2000. */
  intervalMs?: number;
  /** After STOPPED, how long to keep reading the log for lines awslogs still delivers (ms). Default 6000. */
  drainMs?: number;
  /** After StopTask (timeout, cancel), how long to wait for STOPPED (ms). Default 60000. */
  stopWaitMs?: number;
}

const awsvpcWithoutNetwork = (tdName: string, req: RunTaskRequest): UserError =>
  new UserError(
    `Task definition ${tdName} uses the awsvpc network mode, so the task needs subnets and security groups, and ${req.service ? `service ${req.service} has none to copy` : 'none were given'}.`,
    'Set service (to copy its network configuration) or subnets and security-groups.',
  );

const taskNotStarted = (tdName: string, failures: string[]): UserError =>
  new UserError(
    `ECS did not start a task of ${tdName}: ${failures.join('; ') || 'it returned neither a task nor a failure'}.`,
    'RESOURCE:* means the cluster has no capacity that fits (CPU, memory, ENIs); AGENT or MISSING an EC2 instance problem. Fix the capacity or the placement, then re-run.',
  );

/** Runs the task and waits for it; never throws for a task that ran and failed (see `succeeded`), only for what kept it from running. */
export async function runTask(req: RunTaskRequest, o: RunTaskOptions): Promise<RunTaskResult> {
  const clock = o.clock ?? systemClock;
  const interval = o.intervalMs ?? 2000;
  const { taskDefinition: td } = await describeTaskDefinition(o.ecs, req.taskDefinition, o.signal);
  const tdName = taskDefinitionName(td.taskDefinitionArn ?? req.taskDefinition);
  const container = mainContainer(td.containerDefinitions ?? [], req.containerName, tdName);
  if (req.command && req.overrides?.containerOverrides?.some((c) => c.name === container.name && c.command)) {
    throw new UserError(
      'command is set, and overrides also has a command for the same container.',
      'Give the command in one place.',
    );
  }

  const fromService = req.service ? await servicePlacement(o.ecs, req.cluster, req.service, o.signal) : undefined;
  const given = req.placement ?? {};
  const placement: Omit<Placement, 'source'> = {
    networkConfiguration: given.networkConfiguration ?? fromService?.networkConfiguration,
    ...(given.capacityProviderStrategy || given.launchType
      ? { capacityProviderStrategy: given.capacityProviderStrategy, launchType: given.launchType }
      : { capacityProviderStrategy: fromService?.capacityProviderStrategy, launchType: fromService?.launchType }),
    platformVersion: given.platformVersion ?? fromService?.platformVersion,
  };
  if (td.networkMode === 'awsvpc' && !placement.networkConfiguration) {
    throw awsvpcWithoutNetwork(tdName, req);
  }
  o.hooks.info(
    `Placement: ${[
      placement.networkConfiguration?.awsvpcConfiguration
        ? `subnets ${(placement.networkConfiguration.awsvpcConfiguration.subnets ?? []).join(', ')}, security groups ${(placement.networkConfiguration.awsvpcConfiguration.securityGroups ?? []).join(', ') || 'none'}, public IP ${placement.networkConfiguration.awsvpcConfiguration.assignPublicIp ?? 'DISABLED'}`
        : 'no awsvpc network',
      placement.capacityProviderStrategy?.length
        ? `capacity providers ${placement.capacityProviderStrategy.map((c) => `${c.capacityProvider}:${c.weight ?? 0}${c.base ? `:${c.base}` : ''}`).join(', ')}`
        : placement.launchType
          ? `launch type ${placement.launchType}`
          : "the cluster's default capacity provider strategy",
    ].join('; ')}${fromService ? ` (from ${fromService.source} where not given)` : ''}.`,
  );

  const overrides = mergeOverrides(req.overrides, container.name as string, req.command, req.environment);
  const started = clock.now();
  let run;
  try {
    run = await o.ecs.send(
      new RunTaskCommand({
        cluster: req.cluster,
        taskDefinition: td.taskDefinitionArn ?? req.taskDefinition,
        count: 1,
        startedBy: req.startedBy.slice(0, 128),
        ...(placement.networkConfiguration ? { networkConfiguration: placement.networkConfiguration } : {}),
        ...(placement.capacityProviderStrategy?.length
          ? { capacityProviderStrategy: placement.capacityProviderStrategy }
          : placement.launchType
            ? { launchType: placement.launchType }
            : {}),
        ...(placement.platformVersion ? { platformVersion: placement.platformVersion } : {}),
        ...(overrides ? { overrides } : {}),
      }),
      o.signal ? { abortSignal: o.signal } : {},
    );
  } catch (err) {
    throw explainEcsError(err, `Running a task of ${tdName}`);
  }
  const task = run.tasks?.[0];
  if (!task?.taskArn) {
    const failures = (run.failures ?? []).map(
      (f) => `${f.arn ? `${f.arn}: ` : ''}${f.reason ?? 'no reason'}${f.detail ? ` (${f.detail})` : ''}`,
    );
    throw taskNotStarted(tdName, failures);
  }
  const taskArn = task.taskArn;
  const taskId = taskArn.split('/').pop() as string;
  const stream = awslogsStream(container, taskArn);
  o.hooks.started?.(taskArn, stream);
  o.hooks.info(
    `Started task ${taskId} of ${tdName}${stream ? `; following log stream ${stream.group} ${stream.stream}` : `; container ${container.name} has no awslogs log configuration with a stream prefix, so its output is not shown here`}.`,
  );

  let token: string | undefined;
  let lines = 0;
  let logsFailed = false;
  const readLogs = async (): Promise<number> => {
    if (!stream || !o.logs || logsFailed) return 0;
    let read = 0;
    try {
      for (let page = 0; page < 20; page++) {
        const got = await o.logs.forward(stream.group, stream.stream, token, o.signal);
        token = got.token;
        for (const e of got.events) o.hooks.log(e);
        read += got.events.length;
        if (got.events.length === 0) break;
      }
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ResourceNotFoundException') return read; // the stream appears when the container starts
      if (o.signal?.aborted) throw err;
      logsFailed = true;
      o.hooks.warning(
        `Reading the task's log stream failed (${errorMessage(err)}); the task is still followed, its output is not. Check that the role may logs:GetLogEvents on ${stream.group}.`,
      );
    }
    lines += read;
    return read;
  };

  const describe = async (signal?: AbortSignal): Promise<Task | undefined> =>
    (
      await o.ecs.send(
        new DescribeTasksCommand({ cluster: req.cluster, tasks: [taskArn] }),
        signal ? { abortSignal: signal } : {},
      )
    ).tasks?.[0];

  const stopAndWait = async (reason: string): Promise<Task | undefined> => {
    try {
      await o.ecs.send(new StopTaskCommand({ cluster: req.cluster, task: taskArn, reason: reason.slice(0, 255) }));
    } catch (err) {
      o.hooks.warning(
        `Stopping task ${taskId} failed (${errorMessage(err)}); stop it in the ECS console or with aws ecs stop-task --cluster ${req.cluster} --task ${taskId}.`,
      );
      return undefined;
    }
    const until = clock.now() + (o.stopWaitMs ?? 60_000);
    for (;;) {
      const t = await describe().catch(() => undefined);
      if (t?.lastStatus === 'STOPPED' || clock.now() >= until) return t;
      await clock.sleep(Math.min(interval, 2000));
    }
  };

  const deadline = started + req.timeoutMs;
  let last = task.lastStatus ?? 'PROVISIONING';
  let stopped: Task | undefined;
  try {
    for (;;) {
      const t = await describe(o.signal);
      if (t?.lastStatus && t.lastStatus !== last) {
        o.hooks.info(`Task ${taskId}: ${last} → ${t.lastStatus}`);
        last = t.lastStatus;
      }
      await readLogs();
      if (t?.lastStatus === 'STOPPED') {
        stopped = t;
        break;
      }
      if (clock.now() >= deadline) {
        o.hooks.warning(`Task ${taskId} still ${last} after ${formatDuration(req.timeoutMs)}: stopping it.`);
        const end = await stopAndWait(`ecs-run-task: no exit within ${formatDuration(req.timeoutMs)} (wait-timeout)`);
        await readLogs();
        return {
          taskArn,
          container: container.name as string,
          exitCode: end?.containers?.find((c) => c.name === container.name)?.exitCode ?? undefined,
          stoppedReason: end?.stoppedReason ?? '',
          logStream: stream,
          lines,
          durationMs: clock.now() - started,
          succeeded: false,
          timedOut: true,
          failure: `the task did not stop within wait-timeout (${formatDuration(req.timeoutMs)}), so it was stopped${end?.lastStatus === 'STOPPED' ? '' : ' (ECS had not confirmed STOPPED when the wait for it ended)'}`,
        };
      }
      await clock.sleep(Math.min(interval, Math.max(0, deadline - clock.now())), o.signal);
    }
  } catch (err) {
    if (o.signal?.aborted) {
      o.hooks.warning(`The job was cancelled: stopping task ${taskId}.`);
      await stopAndWait('ecs-run-task: the GitHub job was cancelled');
    }
    throw err;
  }

  // awslogs delivers with a delay: read on until the stream has been quiet twice in a row.
  const drainUntil = clock.now() + (o.drainMs ?? 6000);
  for (let quiet = 0; stream && quiet < 2 && clock.now() < drainUntil;) {
    quiet = (await readLogs()) === 0 ? quiet + 1 : 0;
    if (quiet < 2) await clock.sleep(Math.min(1000, Math.max(0, drainUntil - clock.now())));
  }

  const essential = new Set(
    (td.containerDefinitions ?? []).filter((c) => c.essential !== false).map((c) => c.name as string),
  );
  const verdict = describeStop(stopped, container.name as string, essential);
  return {
    taskArn,
    container: container.name as string,
    exitCode: verdict.exitCode,
    stoppedReason: stopped.stoppedReason?.trim() || stopped.stopCode || '',
    logStream: stream,
    lines,
    durationMs: clock.now() - started,
    succeeded: verdict.failure === undefined,
    timedOut: false,
    ...(verdict.failure ? { failure: verdict.failure } : {}),
  };
}
