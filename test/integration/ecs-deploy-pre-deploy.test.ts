/**
 * ecs-deploy's pre-deploy: a migration task of the new revision, run before the rollout
 * touches anything. The container is played by the task stand-in (test/support/ecs-tasks.ts);
 * the service, its deployments and the log stream are moto's.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { LogsReader } from '../../src/aws/logs.js';
import { startEcsTaskServer, type EcsTaskServer } from '../support/ecs-tasks.js';
import {
  IMAGES,
  liveTaskDefinition,
  seedWorkload,
  workloadClients,
  WORKLOAD,
  type Workload,
} from '../support/ecs-workload.js';
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

/** Every call that changes something in AWS. */
const MUTATIONS = [
  'RegisterTaskDefinition',
  'UpdateService',
  'CreateTaskSet',
  'DeleteTaskSet',
  'UpdateServicePrimaryTaskSet',
  'ModifyListener',
  'ModifyRule',
  'TagResource',
  'UntagResource',
  'DeregisterTaskDefinition',
];

const deploy = (extra: Record<string, string> = {}) => ({
  cluster: WORKLOAD.cluster,
  service: WORKLOAD.gateway,
  'container-name': WORKLOAD.gateway,
  image: IMAGES.gatewayV2,
  analysis: 'none',
  'pre-deploy': '["python", "migrate.py", "--to", "head"]',
  ...extra,
});

function job(): Job {
  return new Job({
    AWS_ENDPOINT_URL: server.url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: WORKLOAD.region,
  });
}

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

describe('ecs-deploy pre-deploy', () => {
  it('stops the deploy with nothing changed when the migration fails', async () => {
    server.behave(WORKLOAD.gateway, {
      lines: ['migrating 0012', 'ERROR: column "tenant_id" does not exist'],
      runMs: 1200,
      exitCode: 1,
    });
    const step = await job().run('ecs-deploy', { inputs: deploy() });

    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain('container bedrock-access-gateway exited with code 1');
    expect(step.failure).toContain(
      'Nothing was deployed: the service, its task sets and its traffic are as they were.',
    );
    expect(step.log).toContain('pre-deploy | ERROR: column "tenant_id" does not exist');
    // The only change is the new revision the migration ran in; after RunTask, no call changed anything.
    const calls = server.calls.map((c) => c.operation);
    const after = calls.slice(calls.indexOf('RunTask') + 1);
    expect(after.filter((op) => MUTATIONS.includes(op))).toEqual([]);
    expect(calls.filter((op) => MUTATIONS.includes(op))).toEqual(['RegisterTaskDefinition']);
    expect(await liveTaskDefinition(clients.ecs, WORKLOAD.gateway)).toBe(w.gateway.taskDefinitionArn);
    expect(server.problems).toEqual([]);
  }, 120_000);

  it('runs the migration in the very revision it then deploys', async () => {
    server.behave(WORKLOAD.gateway, { lines: ['migrated to head'], runMs: 600, exitCode: 0 });
    const step = await job().run('ecs-deploy', { inputs: deploy() });

    expect(step.failure).toBeUndefined();
    expect(step.outputs.status).toBe('succeeded');
    const run = server.requests('RunTask')[0] as {
      taskDefinition: string;
      overrides: unknown;
      networkConfiguration: unknown;
    };
    expect(run.taskDefinition).toBe(step.outputs['task-definition-arn']);
    expect(run.overrides).toEqual({
      containerOverrides: [{ name: WORKLOAD.gateway, command: ['python', 'migrate.py', '--to', 'head'] }],
    });
    expect(run.networkConfiguration).toEqual({
      awsvpcConfiguration: { subnets: w.subnets, securityGroups: [w.securityGroup], assignPublicIp: 'ENABLED' },
    });
    expect(server.count('RegisterTaskDefinition')).toBe(1);
    const calls = server.calls.map((c) => c.operation);
    expect(calls.indexOf('RunTask')).toBeLessThan(calls.indexOf('UpdateService'));
    expect(await liveTaskDefinition(clients.ecs, WORKLOAD.gateway)).toBe(step.outputs['task-definition-arn']);
    expect(server.problems).toEqual([]);
  }, 120_000);
});
