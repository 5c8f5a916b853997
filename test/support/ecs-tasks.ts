/**
 * One-off ECS tasks whose containers "run": what moto 5.2.1 does not do. Built on the AWS
 * proxy (test/support/aws-proxy.ts, `handle`); every other call goes to moto unchanged and
 * faults can be injected as usual.
 *
 * From moto, unchanged: RunTask's task (ARN, task definition, overrides, network
 * configuration and the ENI attachment, startedBy), its desiredStatus, and StopTask
 * (moto sets lastStatus STOPPED and keeps the stoppedReason it was given). moto's own
 * lifecycle (ManagedState `ecs::task`, advanced by DescribeTasks calls) is held at RUNNING
 * through moto's state-manager API, so that only StopTask stops a task in moto.
 * CloudWatch Logs are moto's: the "container" writes its lines with PutLogEvents into the
 * stream the awslogs driver names (prefix/container/task-id), which the action reads back
 * with GetLogEvents.
 *
 * Emulated here, because moto has no containers: the states a task passes through before
 * and after its container runs (PROVISIONING → PENDING → RUNNING → STOPPING → STOPPED, as
 * the ECS task lifecycle describes, each lasting `stageMs`), the container's lastStatus,
 * exitCode and reason, and the task's stopCode / stoppedReason / startedAt / stoppedAt as
 * ECS reports them when the essential container exits ("Essential container in task
 * exited", EssentialContainerExited), when a task fails to start (TaskFailedToStart, no
 * exit code), or when StopTask stops a running container (UserInitiated; exit 143 as a
 * process that ends on SIGTERM). And RunTask with a capacityProviderStrategy, which moto
 * does not take: it is checked, forwarded as launchType FARGATE, and the answer names the
 * provider (capacityProviderName) as ECS does.
 *
 * Every RunTask / DescribeTasks / StopTask request and every answer built here is checked
 * against the ECS API model (botocore's); what does not fit lands in `problems`.
 */
import { DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import { LogsReader } from '../../src/aws/logs.js';
import { apiModel, checkRequest, checkResponse } from './aws-model.js';
import { startAwsProxy, type AwsProxy, type JsonAnswer } from './aws-proxy.js';

/** What the container of the next task of a family does. */
export interface ContainerScript {
  /** Lines it writes, spread evenly over its run. */
  lines?: string[];
  /** How long it runs (ms). Default 1500. */
  runMs?: number;
  /** Its exit code. Default 0. */
  exitCode?: number;
  /** It never exits on its own (only StopTask ends it). */
  hang?: boolean;
  /** ECS cannot start it: the task stops from PENDING with this reason and no exit code. */
  failsToStart?: string;
}

export interface EcsTaskServer extends AwsProxy {
  problems: string[];
  /** How the container of the next tasks of a task definition family behaves. */
  behave(family: string, script: ContainerScript): void;
  /** The tasks the stand-in drove: ARN → what happened. */
  driven(): Map<string, { family: string; stoppedBy?: string; exitCode?: number }>;
}

type Json = Record<string, unknown>;

interface Driven {
  arn: string;
  family: string;
  container: string;
  script: ContainerScript;
  createdAt: number;
  runningAt?: number;
  exitedAt?: number;
  exitCode?: number;
  stoppedAt?: number;
  stoppedBy?: string;
  stream?: { group: string; stream: string };
  written: number;
}

export async function startEcsTaskServer(moto: string, options: { stageMs?: number } = {}): Promise<EcsTaskServer> {
  const stageMs = options.stageMs ?? 300;
  const model = apiModel('ecs');
  const problems: string[] = [];
  const scripts = new Map<string, ContainerScript>();
  const tasks = new Map<string, Driven>();
  const ecs = new ECSClient({
    region: 'us-east-1',
    endpoint: moto,
    maxAttempts: 1,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const logs = new LogsReader({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    env: { AWS_ENDPOINT_URL: moto },
    attempts: 1,
  });
  const stateManager = async (path: string, body: object) => {
    const res = await fetch(`${moto}/moto-api/state-manager/${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`moto state manager ${path}: HTTP ${res.status}`);
  };
  await stateManager('set-transition', {
    model_name: 'ecs::task',
    transition: { progression: 'manual', times: 1_000_000 },
  });

  const check = (problemsFound: string[]) => {
    problems.push(...problemsFound);
    return problemsFound.length === 0;
  };
  const refuse = (message: string): JsonAnswer => ({
    status: 400,
    body: { __type: 'InvalidParameterException', message },
  });

  /** The container writes what its script says it has written by now. */
  async function write(t: Driven, now: number): Promise<void> {
    const lines = t.script.lines ?? [];
    if (!t.stream || t.runningAt === undefined || t.written >= lines.length) return;
    const runMs = t.script.runMs ?? 1500;
    const end = t.exitedAt ?? t.stoppedAt ?? now;
    const due =
      t.script.hang && t.stoppedAt === undefined
        ? lines.length
        : Math.min(lines.length, Math.ceil(((Math.min(now, end) - t.runningAt) / runMs) * lines.length));
    const batch = lines.slice(t.written, Math.max(t.written, due));
    if (batch.length === 0) return;
    t.written += batch.length;
    await logs.send('PutLogEvents', {
      logGroupName: t.stream.group,
      logStreamName: t.stream.stream,
      logEvents: batch.map((message, i) => ({ timestamp: now + i, message })),
    });
  }

  /** Moves a driven task along its script; returns the fields ECS would report now. */
  async function advance(t: Driven, motoStatus: string | undefined): Promise<Json> {
    const now = Date.now();
    if (motoStatus === 'STOPPED' && t.stoppedAt === undefined && t.exitedAt === undefined) {
      t.stoppedAt = now;
      t.stoppedBy = 'StopTask';
      if (t.runningAt !== undefined) t.exitCode = 143;
    }
    const age = now - t.createdAt;
    if (!t.script.failsToStart && t.runningAt === undefined && age >= 2 * stageMs && t.stoppedAt === undefined) {
      t.runningAt = t.createdAt + 2 * stageMs;
      if (t.stream) {
        await logs
          .send('CreateLogStream', { logGroupName: t.stream.group, logStreamName: t.stream.stream })
          .catch(() => undefined);
      }
    }
    if (
      t.runningAt !== undefined &&
      !t.script.hang &&
      t.exitedAt === undefined &&
      t.stoppedAt === undefined &&
      now >= t.runningAt + (t.script.runMs ?? 1500)
    ) {
      t.exitedAt = t.runningAt + (t.script.runMs ?? 1500);
      t.exitCode = t.script.exitCode ?? 0;
    }
    if (t.script.failsToStart && t.exitedAt === undefined && t.stoppedAt === undefined && age >= 2 * stageMs)
      t.exitedAt = t.createdAt + 2 * stageMs;
    await write(t, now);

    const ended = t.exitedAt ?? t.stoppedAt;
    const secs = (ms: number) => ms / 1000;
    const container: Json = { name: t.container, lastStatus: 'PENDING' };
    const fields: Json = { containers: [container] };
    if (ended === undefined) {
      fields.lastStatus = t.runningAt !== undefined ? 'RUNNING' : age < stageMs ? 'PROVISIONING' : 'PENDING';
      if (t.runningAt !== undefined) {
        container.lastStatus = 'RUNNING';
        fields.startedAt = secs(t.runningAt);
      }
      return fields;
    }
    const stopped = now >= ended + stageMs;
    fields.lastStatus = stopped ? 'STOPPED' : 'STOPPING';
    fields.desiredStatus = 'STOPPED';
    fields.stoppingAt = secs(ended);
    if (t.runningAt !== undefined) fields.startedAt = secs(t.runningAt);
    if (stopped) fields.stoppedAt = secs(ended + stageMs);
    if (t.script.failsToStart) {
      fields.stopCode = 'TaskFailedToStart';
      fields.stoppedReason = t.script.failsToStart;
      container.lastStatus = 'STOPPED';
      container.reason = t.script.failsToStart;
    } else if (t.stoppedBy) {
      fields.stopCode = 'UserInitiated';
      container.lastStatus = 'STOPPED';
      if (t.exitCode !== undefined) container.exitCode = t.exitCode;
    } else {
      fields.stopCode = 'EssentialContainerExited';
      fields.stoppedReason = 'Essential container in task exited';
      container.lastStatus = 'STOPPED';
      container.exitCode = t.exitCode;
    }
    return fields;
  }

  const handlers: Record<
    string,
    (body: Json, forward: (body?: unknown) => Promise<JsonAnswer>) => Promise<JsonAnswer | undefined>
  > = {
    async RunTask(body, forward) {
      if (!check(checkRequest(model, 'RunTask', body))) return refuse('The request does not fit the RunTask model.');
      const strategy = body.capacityProviderStrategy as
        Array<{ capacityProvider: string; weight?: number; base?: number }> | undefined;
      let sent = body;
      if (strategy?.length) {
        if (body.launchType) return refuse('launchType and capacityProviderStrategy cannot both be specified.');
        const unknown = strategy.find((s) => s.capacityProvider !== 'FARGATE' && s.capacityProvider !== 'FARGATE_SPOT');
        if (unknown)
          return refuse(
            `The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster: ${unknown.capacityProvider}.`,
          );
        const { capacityProviderStrategy: _drop, ...rest } = body;
        sent = { ...rest, launchType: 'FARGATE' };
      }
      const answer = await forward(sent);
      if (answer.status !== 200) return answer;
      const out = answer.body as { tasks?: Json[]; failures?: unknown[] };
      for (const task of out.tasks ?? []) {
        const family =
          String(task.taskDefinitionArn ?? '')
            .split('/')
            .pop()
            ?.split(':')[0] ?? '';
        const script = scripts.get(family) ?? {};
        const containerName = String((task.containers as Json[] | undefined)?.[0]?.name ?? family);
        const def = (
          await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: String(task.taskDefinitionArn) }))
        ).taskDefinition?.containerDefinitions?.find((c) => c.name === containerName);
        const opts = def?.logConfiguration?.logDriver === 'awslogs' ? def.logConfiguration.options : undefined;
        const t: Driven = {
          arn: String(task.taskArn),
          family,
          container: containerName,
          script,
          createdAt: Date.now(),
          written: 0,
        };
        if (opts?.['awslogs-group'] && opts['awslogs-stream-prefix'])
          t.stream = streamFor(opts['awslogs-group'], opts['awslogs-stream-prefix'], containerName, t.arn);
        tasks.set(t.arn, t);
        if (strategy?.length) {
          const chosen =
            strategy.find((s) => (s.base ?? 0) > 0) ??
            [...strategy].sort((a, b) => (b.weight ?? 0) - (a.weight ?? 0))[0];
          task.capacityProviderName = chosen?.capacityProvider;
          delete task.launchType;
        }
        Object.assign(task, {
          lastStatus: 'PROVISIONING',
          containers: [{ name: containerName, lastStatus: 'PENDING', taskArn: t.arn }],
        });
      }
      check(checkResponse(model, 'RunTask', out));
      return { status: 200, body: out };
    },

    async DescribeTasks(body, forward) {
      if (!check(checkRequest(model, 'DescribeTasks', body)))
        return refuse('The request does not fit the DescribeTasks model.');
      const answer = await forward();
      if (answer.status !== 200) return answer;
      const out = answer.body as { tasks?: Json[] };
      for (const task of out.tasks ?? []) {
        const t = tasks.get(String(task.taskArn));
        if (!t) continue;
        const fields = await advance(t, String(task.lastStatus));
        const motoContainers = (task.containers as Json[] | undefined) ?? [];
        const containers = (fields.containers as Json[]).map((ours) => {
          // moto's container (ARN, image, network interfaces) with our state; moto's exitCode is always 0, so only ours counts.
          const {
            exitCode: _motoExit,
            lastStatus: _motoStatus,
            ...theirs
          } = motoContainers.find((m) => m.name === ours.name) ?? {};
          // moto sends the container's cpu / memory as numbers; ECS (and the model) as strings.
          for (const k of ['cpu', 'memory'] as const) if (typeof theirs[k] === 'number') theirs[k] = String(theirs[k]);
          return { ...theirs, ...ours };
        });
        Object.assign(task, fields, { containers });
        if (task.lastStatus !== 'STOPPED') delete task.stoppedReason;
        else if (t.stoppedBy && !task.stoppedReason) task.stoppedReason = 'Task stopped by user';
      }
      check(checkResponse(model, 'DescribeTasks', out));
      return { status: 200, body: out };
    },

    async StopTask(body) {
      if (!check(checkRequest(model, 'StopTask', body))) return refuse('The request does not fit the StopTask model.');
      return undefined;
    },
  };

  const proxy = await startAwsProxy(moto, {
    handle: ({ operation, body, forward }) => handlers[operation]?.((body ?? {}) as Json, forward),
  });

  return {
    ...proxy,
    problems,
    behave(family, script) {
      scripts.set(family, script);
    },
    driven: () =>
      new Map(
        [...tasks.values()].map((t) => [t.arn, { family: t.family, stoppedBy: t.stoppedBy, exitCode: t.exitCode }]),
      ),
    reset() {
      proxy.reset();
      problems.length = 0;
      scripts.clear();
      tasks.clear();
    },
    close: async () => {
      await stateManager('unset-transition', { model_name: 'ecs::task' }).catch(() => undefined);
      ecs.destroy();
      await proxy.close();
    },
  };
}

/** Where the stand-in writes a task's log: set by the test from the task definition (as the awslogs driver reads it). */
export function streamFor(
  group: string,
  prefix: string,
  container: string,
  taskArn: string,
): { group: string; stream: string } {
  return { group, stream: `${prefix}/${container}/${taskArn.split('/').pop()}` };
}
