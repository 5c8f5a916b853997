/**
 * ecs-run-task through its bundle against moto, with the task stand-in
 * (test/support/ecs-tasks.ts) playing the container: its lifecycle, exit code and log
 * lines, which moto does not have. Placement, overrides, StopTask and CloudWatch Logs are
 * moto's own.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { DescribeTasksCommand, RegisterTaskDefinitionCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { LogsReader } from '../../src/aws/logs.js';
import { startEcsTaskServer, type EcsTaskServer } from '../support/ecs-tasks.js';
import { IMAGES, seedWorkload, workloadClients, WORKLOAD, type Workload } from '../support/ecs-workload.js';
import { motoEndpoint, resetMoto } from '../support/moto.js';
import { Job } from '../support/runner.js';

const moto = motoEndpoint();
const clients = workloadClients(moto);
const logs = new LogsReader({
  region: WORKLOAD.region,
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  env: { AWS_ENDPOINT_URL: moto },
  attempts: 1,
});
let server: EcsTaskServer;
let w: Workload;

function job(): Job {
  return new Job({
    AWS_ENDPOINT_URL: server.url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: WORKLOAD.region,
  });
}

const migrate = (extra: Record<string, string> = {}) => ({
  cluster: WORKLOAD.cluster,
  service: WORKLOAD.web,
  command: '["python", "-m", "open_webui.migrate"]',
  'environment-variables': 'MIGRATION_TARGET=head',
  ...extra,
});

beforeAll(async () => {
  server = await startEcsTaskServer(moto, { stageMs: 300 });
});
afterAll(async () => {
  clients.destroy();
  await server.close();
});
beforeEach(async () => {
  await resetMoto(moto);
  w = await seedWorkload(moto);
  await logs.send('CreateLogGroup', { logGroupName: '/ecs/platform' });
  server.reset();
});

describe('ecs-run-task', () => {
  it("runs the service's task definition with its placement and overrides, streams the log and succeeds", async () => {
    server.behave(WORKLOAD.web, {
      lines: [
        'INFO  [alembic] Running upgrade 0041 -> 0042, add channels',
        'INFO  [alembic] Running upgrade 0042 -> 0043',
        '::add-mask::not-a-command',
      ],
      runMs: 2500,
      exitCode: 0,
    });
    const step = await job().run('ecs-run-task', { inputs: migrate() });

    expect(step.failure).toBeUndefined();
    const id = step.outputs['task-arn']?.split('/').pop();
    expect(step.outputs).toMatchObject({
      'exit-code': '0',
      'log-group': '/ecs/platform',
      'log-stream': `${WORKLOAD.web}/${WORKLOAD.web}/${id}`,
    });
    expect(step.log).toMatch(
      /\d\d:\d\d:\d\d open-webui \| INFO {2}\[alembic\] Running upgrade 0041 -> 0042, add channels/,
    );
    expect(step.log).toContain('Running upgrade 0042 -> 0043');
    // A line the task printed is never a workflow command.
    expect(step.masked).not.toContain('not-a-command');
    expect(step.log).toMatch(/Task [0-9a-f-]+: (PROVISIONING|PENDING) → RUNNING/);
    expect(step.log).toMatch(/Task [0-9a-f-]+: RUNNING → (STOPPING|STOPPED)/);
    expect(step.log).toContain(`from the primary task set of service ${WORKLOAD.web}`);

    const run = server.requests('RunTask')[0] as Record<string, unknown>;
    expect(run).toMatchObject({
      cluster: WORKLOAD.cluster,
      taskDefinition: w.web.taskDefinitionArn,
      launchType: 'FARGATE',
      networkConfiguration: {
        awsvpcConfiguration: { subnets: w.subnets, securityGroups: [w.securityGroup], assignPublicIp: 'ENABLED' },
      },
      overrides: {
        containerOverrides: [
          {
            name: WORKLOAD.web,
            command: ['python', '-m', 'open_webui.migrate'],
            environment: [{ name: 'MIGRATION_TARGET', value: 'head' }],
          },
        ],
      },
      startedBy: 'ecs-run-task/4242',
    });
    expect(server.count('StopTask')).toBe(0);
    expect(step.summary).toContain('ecs-run-task: succeeded');
    expect(server.problems).toEqual([]);
  }, 60_000);

  it("fails with the container's exit code and ECS's reason, after showing the output", async () => {
    server.behave(WORKLOAD.gateway, {
      lines: ['applying 0007_add_index', 'ERROR: relation "usage_events" already exists'],
      runMs: 1500,
      exitCode: 3,
    });
    const step = await job().run('ecs-run-task', {
      inputs: { cluster: WORKLOAD.cluster, service: WORKLOAD.gateway, 'task-definition': `${WORKLOAD.gateway}:1` },
    });

    expect(step.exitCode).toBe(1);
    expect(step.outputs['exit-code']).toBe('3');
    expect(step.log).toContain('ERROR: relation "usage_events" already exists');
    expect(step.failure).toContain(
      `of ${WORKLOAD.gateway}:1 failed: container ${WORKLOAD.gateway} exited with code 3; the task stopped: Essential container in task exited.`,
    );
    expect(step.failure).toContain('The task ran and its command failed');
    expect(step.summary).toContain('ecs-run-task: failed');
    expect(step.summary).toContain('usage_events');
    // The ECS controller service: its own network configuration.
    expect(server.requests('RunTask')[0]).toMatchObject({
      networkConfiguration: { awsvpcConfiguration: { subnets: w.subnets } },
      launchType: 'FARGATE',
    });
    expect(server.problems).toEqual([]);
  }, 60_000);

  it('says why a task that never started stopped, without an exit code', async () => {
    const reason = `CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ${IMAGES.webV1}: not found`;
    server.behave(WORKLOAD.web, { failsToStart: reason });
    const step = await job().run('ecs-run-task', { inputs: migrate() });

    expect(step.exitCode).toBe(1);
    expect(step.outputs['exit-code']).toBe('');
    expect(step.failure).toContain(`container ${WORKLOAD.web} never ran to an exit code; the task stopped: ${reason}`);
    expect(step.failure).toContain('ECS stopped the task before its command ran');
    expect(step.failure).not.toMatch(/\[null\]|undefined|null\b/);
    expect(server.problems).toEqual([]);
  }, 60_000);

  it('stops a task that outlives wait-timeout, and fails saying so', async () => {
    server.behave(WORKLOAD.web, { lines: ['waiting for lock on migrations table'], hang: true });
    const step = await job().run('ecs-run-task', { inputs: migrate({ 'wait-timeout': '4s' }) });

    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain('the task did not stop within wait-timeout (4s), so it was stopped');
    expect(step.failure).toContain('Raise wait-timeout');
    expect(step.log).toContain('waiting for lock on migrations table');
    const stops = server.requests('StopTask') as Array<{ task: string; reason: string }>;
    expect(stops).toHaveLength(1);
    expect(stops[0]?.reason).toContain('wait-timeout');
    // moto's own state: StopTask stopped the task, with the reason given.
    const inMoto = (
      await clients.ecs.send(
        new DescribeTasksCommand({ cluster: WORKLOAD.cluster, tasks: [step.outputs['task-arn'] as string] }),
      )
    ).tasks?.[0];
    expect(inMoto?.lastStatus).toBe('STOPPED');
    expect(inMoto?.stoppedReason).toContain('wait-timeout');
    expect(server.problems).toEqual([]);
  }, 60_000);

  it('stops the task when the job is cancelled', async () => {
    server.behave(WORKLOAD.web, { lines: ['long backfill'], hang: true });
    const running = job().start('ecs-run-task', { inputs: migrate() });
    await running.waitForLog(/long backfill/, 30_000);
    running.kill('SIGINT');
    const step = await running.done;

    expect(step.exitCode).toBe(1);
    const stops = server.requests('StopTask') as Array<{ reason: string }>;
    expect(stops.map((s) => s.reason)).toEqual(['ecs-run-task: the GitHub job was cancelled']);
  }, 60_000);

  it("takes a given capacity provider strategy and network over the service's", async () => {
    server.behave(WORKLOAD.gateway, { runMs: 300 });
    const step = await job().run('ecs-run-task', {
      inputs: {
        cluster: WORKLOAD.cluster,
        service: WORKLOAD.gateway,
        'capacity-provider-strategy': 'FARGATE_SPOT:3\nFARGATE:1:1',
        subnets: w.subnets[1] as string,
        'security-groups': w.securityGroup,
      },
    });
    expect(step.failure).toBeUndefined();
    const run = server.requests('RunTask')[0] as Record<string, unknown>;
    expect(run.capacityProviderStrategy).toEqual([
      { capacityProvider: 'FARGATE_SPOT', weight: 3 },
      { capacityProvider: 'FARGATE', weight: 1, base: 1 },
    ]);
    expect(run.launchType).toBeUndefined();
    expect(run.networkConfiguration).toEqual({
      awsvpcConfiguration: { subnets: [w.subnets[1]], securityGroups: [w.securityGroup] },
    });
    expect(server.problems).toEqual([]);
  }, 60_000);

  it('copies a capacity provider strategy the service has', async () => {
    await clients.ecs.send(
      new UpdateServiceCommand({
        cluster: WORKLOAD.cluster,
        service: WORKLOAD.gateway,
        capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }],
      }),
    );
    server.behave(WORKLOAD.gateway, { runMs: 300 });
    const step = await job().run('ecs-run-task', { inputs: { cluster: WORKLOAD.cluster, service: WORKLOAD.gateway } });
    expect(step.failure).toBeUndefined();
    expect(server.requests('RunTask')[0]).toMatchObject({
      capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }],
    });
  }, 60_000);

  it('refuses bad input before any AWS call', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ cluster: WORKLOAD.cluster }, 'Neither task-definition nor service is set'],
      [migrate({ command: '["python", "-m"' }), "Input 'command' starts with '[' but is not a JSON array"],
      [migrate({ command: 'sh -c "alembic upgrade head"' }), 'there is no shell'],
      [migrate({ 'capacity-provider-strategy': 'FARGATE' }), 'is not PROVIDER:WEIGHT'],
      [
        migrate({ 'capacity-provider-strategy': 'FARGATE:1', 'launch-type': 'EC2' }),
        'Both capacity-provider-strategy and launch-type are set',
      ],
      [
        migrate({ overrides: '{"containerOverride": []}' }),
        "has 'containerOverride', which RunTask's overrides do not have",
      ],
      [migrate({ subnets: 'subnet-zz' }), "subnets has 'subnet-zz'"],
      [migrate({ 'environment-variables': '1BAD=x' }), 'is not NAME=value'],
      [migrate({ 'wait-timeout': 'soon' }), 'wait-timeout'],
    ];
    for (const [inputs, message] of cases) {
      const step = await job().run('ecs-run-task', { inputs });
      expect(step.exitCode).toBe(1);
      expect(step.failure).toContain(message);
    }
    expect(server.calls).toEqual([]);
  }, 60_000);

  it('refuses an awsvpc task with no network to copy or given', async () => {
    const td = (
      await clients.ecs.send(
        new RegisterTaskDefinitionCommand({
          family: 'seed-db',
          networkMode: 'awsvpc',
          requiresCompatibilities: ['FARGATE'],
          cpu: '256',
          memory: '512',
          containerDefinitions: [{ name: 'seed', image: IMAGES.webV1, essential: true, memory: 512 }],
        }),
      )
    ).taskDefinition?.taskDefinitionArn as string;
    const step = await job().run('ecs-run-task', { inputs: { cluster: WORKLOAD.cluster, 'task-definition': td } });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain(
      'uses the awsvpc network mode, so the task needs subnets and security groups, and none were given',
    );
    expect(server.count('RunTask')).toBe(0);
  }, 60_000);
});
