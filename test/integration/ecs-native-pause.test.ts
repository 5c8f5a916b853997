/**
 * Pause and resume of an ECS native canary across jobs, through the bundles, against moto
 * with the native stand-in in front of it (service deployments, PAUSE hooks that wait with
 * their timeout, ECS's own traffic moves on the production listener rule): the pause leaves
 * the deployment waiting at its PAUSE hook; a later job resumes it in a new process, the
 * rollback action resolves the hook with ROLLBACK, the reconciler rolls back one whose pause
 * ran out; a pause-timeout the hook would not outlast is refused before any change.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { DescribeServicesCommand, ECSClient, TagResourceCommand } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { decodeRecord } from '../../src/delivery/record.js';
import { startEcsNativeServer, type EcsNativeServer } from '../support/ecs-native-server.js';
import { MCP, PAUSE_HOOKS, seedNativeService, type NativeService } from '../support/ecs-native-workload.js';
import {
  forwardPercentages,
  seedWorkload,
  serviceTags,
  startAlbTraffic,
  WORKLOAD,
  type Workload,
} from '../support/ecs-workload.js';
import { motoClientConfig, useMoto } from '../support/moto.js';
import { Job, type StepResult } from '../support/runner.js';

const moto = useMoto();
const RECORD_TAG = 'platform-actions:rollout';
const MUTATING = [
  'RegisterTaskDefinition',
  'UpdateService',
  'TagResource',
  'UntagResource',
  'ContinueServiceDeployment',
  'StopServiceDeployment',
];
const ANALYSIS = JSON.stringify({
  interval: '10s',
  'failure-limit': 1,
  metrics: [
    {
      name: 'error-rate',
      provider: 'cloudwatch',
      query: 'alb:error-rate',
      'min-count': 20,
      judge: { threshold: { max: '1%' } },
    },
  ],
});

let server: EcsNativeServer;
let workload: Workload;
let ecsClient: ECSClient;
let elbv2Client: ElasticLoadBalancingV2Client;
let cwClient: CloudWatchClient;
let native: NativeService;
let metrics: { stop(): Promise<void> } | undefined;

beforeAll(async () => {
  server = await startEcsNativeServer(moto, { stageMs: 100, minuteMs: 1000 });
  ecsClient = new ECSClient(motoClientConfig(server.url));
  elbv2Client = new ElasticLoadBalancingV2Client(motoClientConfig(moto));
  cwClient = new CloudWatchClient(motoClientConfig(moto));
});
afterAll(async () => {
  ecsClient.destroy();
  elbv2Client.destroy();
  cwClient.destroy();
  await server.close();
});
beforeEach(async () => {
  server.reset();
  workload = await seedWorkload(server.url);
  // CANARY 10% with the hooks ecs-deploy needs, each timing out after 30 (real) minutes with ROLLBACK.
  native = await seedNativeService(server.url, workload, {
    strategy: 'CANARY',
    canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: 0 },
    bakeTimeInMinutes: 0,
    lifecycleHooks: PAUSE_HOOKS,
  });
  const t = startAlbTraffic(
    cwClient,
    workload.loadBalancerArn,
    () => ({
      [native.targetGroups.blue]: { requests: 50, errors: 0 },
      [native.targetGroups.green]: { requests: 50, errors: 0 },
    }),
    { tickMs: 2000 },
  );
  metrics = { stop: () => t.stop() };
});
afterEach(async () => {
  await metrics?.stop();
  metrics = undefined;
  expect(server.problems).toEqual([]);
});

function job(runId = '4242'): Job {
  return new Job({
    AWS_ENDPOINT_URL: server.url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: WORKLOAD.region,
    GITHUB_RUN_ID: runId,
  });
}

function inputs(extra: Record<string, string> = {}): Record<string, string> {
  return {
    cluster: WORKLOAD.cluster,
    service: MCP.service,
    image: MCP.imageV2,
    steps: '10:pause,100',
    'step-duration': '10s',
    analysis: ANALYSIS,
    'pause-timeout': '20m',
    'wait-timeout': '2m',
    ...extra,
  };
}

type Hook = { status: string; hookId: string; expiresAt?: number };
type Deployment = {
  status: string;
  lifecycleStage?: string;
  lifecycleHookDetails: Hook[];
  serviceDeploymentArn: string;
};
const deployments = () => server.serviceDeployments(native.serviceArn) as Deployment[];
const record = async () => decodeRecord((await serviceTags(ecsClient, native.serviceArn))[RECORD_TAG]);
const weights = async () => {
  const p = await forwardPercentages(elbv2Client, native.ruleArn);
  return [p[native.targetGroups.blue], p[native.targetGroups.green]];
};
const liveTaskDefinition = async () =>
  (await ecsClient.send(new DescribeServicesCommand({ cluster: WORKLOAD.cluster, services: [MCP.service] })))
    .services?.[0]?.taskDefinition;
const changes = (since: number) =>
  server.calls
    .slice(since)
    .filter((c) => MUTATING.includes(c.operation))
    .map((c) => c.operation);

/** Deploys up to the pause at 10% and checks ECS holds the deployment at its PAUSE hook. */
async function pause(): Promise<StepResult> {
  const before = Date.now();
  const step = await job().run('ecs-deploy', { inputs: inputs() });
  expect(step.failure).toBeUndefined();
  expect(step.exitCode).toBe(0);
  expect(step.outputs.status).toBe('paused');
  expect(step.log).toMatch(/Step 1 analysis: pass/);
  expect(await weights()).toEqual([90, 10]);
  const rollout = deployments()[1] as Deployment;
  expect(rollout.status).toBe('IN_PROGRESS');
  // Continued once (before 10%), then left waiting at the hook before 100%.
  expect(rollout.lifecycleHookDetails.map((h) => h.status)).toEqual(['SUCCEEDED', 'AWAITING_ACTION']);
  const held = await record();
  expect(held).toMatchObject({
    engine: 'ecs-native',
    phase: 'paused',
    weight: 10,
    step: 0,
    run: '4242.1',
    id: step.outputs['deployment-id'],
  });
  expect(held?.canary).toMatch(/^mcp-proxy:2@[\w-]+$/);
  expect(held?.lease).toBeUndefined();
  // The deadline is pause-timeout from the pause, and never after ECS's own hook timeout.
  expect((held?.pauseUntil as number) * 1000).toBeGreaterThanOrEqual(before + 20 * 60_000 - 1000);
  expect((held?.pauseUntil as number) * 1000).toBeLessThanOrEqual(
    ((rollout.lifecycleHookDetails[1] as Hook).expiresAt as number) * 1000,
  );
  return step;
}

describe('ecs-deploy: pause and resume of an ECS native canary', () => {
  it('pauses with the deployment waiting at its PAUSE hook; a later job resumes it in a new process and ECS finishes it', async () => {
    const paused = await pause();
    expect(paused.log).toMatch(
      /ECS holds deployment \S+ at its PAUSE hook \(AWAITING_ACTION, its timeout action ROLLBACK at /,
    );
    expect(paused.summary).toContain('resume: true');
    expect(paused.summary).toContain('steps: 10:pause,100');

    // The job ends: its post step leaves the pause alone.
    const post = await job().post(paused);
    expect(post.exitCode).toBe(0);
    expect(post.log).toContain('left paused for a resume');
    expect((deployments()[1] as Deployment).lifecycleHookDetails.map((h) => h.status)).toEqual([
      'SUCCEEDED',
      'AWAITING_ACTION',
    ]);

    // Another run, a new process, after the reviewers approved.
    const mark = server.calls.length;
    const resumed = await job('5151').run('ecs-deploy', { inputs: inputs({ resume: 'true' }) });
    expect(resumed.failure).toBeUndefined();
    expect(resumed.outputs).toMatchObject({
      status: 'succeeded',
      'deployment-id': paused.outputs['deployment-id'],
      'task-definition-arn': paused.outputs['task-definition-arn'],
    });
    expect(resumed.log).toMatch(
      /Took up ECS service deployment \S+ of mcp-proxy:2, held at its PAUSE hook with 10% of production traffic in mcp-proxy-green/,
    );
    expect(resumed.log).toContain('Resuming the paused canary rollout');
    const calls = server.calls.slice(mark).map((c) => c.operation);
    expect(calls).not.toContain('RegisterTaskDefinition');
    expect(calls).not.toContain('UpdateService');
    expect(calls).not.toContain('StopServiceDeployment');
    // The held hook, then the one after 100%, each continued.
    const continues = server.requests('ContinueServiceDeployment').slice(-2) as Array<{
      action: string;
      hookId: string;
    }>;
    expect(continues.map((c) => c.action)).toEqual(['CONTINUE', 'CONTINUE']);
    const done = deployments()[1] as Deployment;
    expect(continues[0]?.hookId).toBe(done.lifecycleHookDetails[1]?.hookId);
    expect(done.status).toBe('SUCCESSFUL');
    expect(await weights()).toEqual([0, 100]);
    expect(await liveTaskDefinition()).toBe(paused.outputs['task-definition-arn']);
    expect(await record()).toBeUndefined();
  }, 180_000);

  it('refuses to resume with another image, and a deployment no longer held at its hook, changing nothing', async () => {
    await pause();
    let mark = server.calls.length;
    const other = await job('5151').run('ecs-deploy', {
      inputs: inputs({ resume: 'true', image: 'ghcr.io/acme/mcp-proxy:9.9.9' }),
    });
    expect(other.exitCode).toBe(1);
    expect(other.failure).toContain(
      `runs ${MCP.service}: ${MCP.imageV2}, but this job was given ${MCP.service}: ghcr.io/acme/mcp-proxy:9.9.9. Nothing was changed.`,
    );
    expect(changes(mark)).toEqual([]);

    // Someone resolved the hook in the console: ECS moved on to 100% without the resume.
    const d = deployments()[1] as Deployment;
    const { ContinueServiceDeploymentCommand } = await import('@aws-sdk/client-ecs');
    await ecsClient.send(
      new ContinueServiceDeploymentCommand({
        serviceDeploymentArn: d.serviceDeploymentArn,
        hookId: d.lifecycleHookDetails[1]?.hookId as string,
        action: 'CONTINUE',
      }),
    );
    mark = server.calls.length;
    const late = await job('5151').run('ecs-deploy', { inputs: inputs({ resume: 'true' }) });
    expect(late.exitCode).toBe(1);
    expect(late.failure).toMatch(
      /left ECS service deployment \S+ held at its PAUSE hook with 10% of production traffic, but it is IN_PROGRESS .* now: it is no longer waiting for a resume where the pause left it\. Nothing was changed\./,
    );
    expect(late.failure).toContain('rollback action');
    expect(changes(mark)).toEqual([]);
  }, 120_000);

  it('aborts a paused native canary with the rollback action: the hook resolved with ROLLBACK, the old revision back', async () => {
    await pause();
    const step = await job('6000').run('rollback', {
      inputs: { cluster: WORKLOAD.cluster, service: MCP.service, reason: 'not approved' },
    });
    expect(step.failure).toBeUndefined();
    expect(step.outputs.status).toBe('rolled-back');
    expect(step.log).toContain('ContinueServiceDeployment ROLLBACK');
    expect(server.requests('ContinueServiceDeployment').at(-1)).toMatchObject({ action: 'ROLLBACK' });
    expect(server.count('StopServiceDeployment')).toBe(0);
    const d = deployments()[1] as Deployment;
    expect(d.status).toBe('ROLLBACK_SUCCESSFUL');
    expect(d.lifecycleHookDetails.map((h) => h.status)).toEqual(['SUCCEEDED', 'FAILED']);
    expect(await weights()).toEqual([100, 0]);
    expect(await liveTaskDefinition()).toBe(native.taskDefinitionArn);
    expect(await record()).toBeUndefined();
  }, 120_000);

  it('has the reconciler roll back a paused native canary whose pause ran out', async () => {
    await pause();
    const text = (await serviceTags(ecsClient, native.serviceArn))[RECORD_TAG] as string;
    const past = Math.floor(Date.now() / 1000) - 60;
    await ecsClient.send(
      new TagResourceCommand({
        resourceArn: native.serviceArn,
        tags: [{ key: RECORD_TAG, value: text.replace(/ pu=\d+/, ` pu=${past}`) }],
      }),
    );

    const result = await job('9000').run('reconcile', { inputs: { clusters: WORKLOAD.cluster, analysis: ANALYSIS } });
    expect(result.failure).toBeUndefined();
    expect(JSON.parse(result.outputs.actions as string)).toEqual([
      expect.objectContaining({
        state: 'paused',
        done: 'rolled-back',
        detail: expect.stringContaining('nobody resumed it'),
      }),
    ]);
    expect(server.requests('ContinueServiceDeployment').at(-1)).toMatchObject({ action: 'ROLLBACK' });
    expect((deployments()[1] as Deployment).status).toBe('ROLLBACK_SUCCESSFUL');
    expect(await weights()).toEqual([100, 0]);
    expect(await liveTaskDefinition()).toBe(native.taskDefinitionArn);
    expect(await record()).toBeUndefined();
  }, 120_000);

  it('has the reconciler judge a paused native canary within its deadline and leave it while it passes', async () => {
    await pause();
    const result = await job('9000').run('reconcile', { inputs: { clusters: WORKLOAD.cluster, analysis: ANALYSIS } });
    expect(result.failure).toBeUndefined();
    expect(JSON.parse(result.outputs.actions as string)).toEqual([
      expect.objectContaining({ state: 'paused', done: 'judged-pass' }),
    ]);
    expect((deployments()[1] as Deployment).lifecycleHookDetails.map((h) => h.status)).toEqual([
      'SUCCEEDED',
      'AWAITING_ACTION',
    ]);
    expect((await record())?.phase).toBe('paused');
  }, 120_000);

  it('refuses a pause-timeout the PAUSE hook would not outlast, before any change', async () => {
    const mark = server.calls.length;
    const step = await job().run('ecs-deploy', { inputs: inputs({ 'pause-timeout': '1h' }) });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toMatch(
      /steps pause at 10% for up to pause-timeout \(1h\) .* but the PAUSE hook at PRE_PRODUCTION_TRAFFIC_SHIFT of ECS service \S+ times out after 30 min .* ECS would then roll the canary back before the pause ends\. Nothing was changed\./,
    );
    expect(step.failure).toMatch(
      /Raise the hook's timeoutConfiguration\.timeoutInMinutes to 61 or more \(ECS allows up to 20160, 14 days\), or lower pause-timeout to 29m or less\./,
    );

    // Beyond what any hook can wait: only a shorter pause-timeout helps.
    const long = await job().run('ecs-deploy', { inputs: inputs({ 'pause-timeout': '15d' }) });
    expect(long.exitCode).toBe(1);
    expect(long.failure).toMatch(
      /ECS allows a hook timeout of at most 20160 min \(14 days\), so lower pause-timeout to 29m or less \(after raising timeoutInMinutes to 20160, pause-timeout may be up to /,
    );

    expect(changes(mark)).toEqual([]);
    expect(await record()).toBeUndefined();
    expect(deployments().length).toBe(1);
  }, 60_000);
});
