/**
 * ecs-deploy's native-strategy engine, through the bundled action, against moto with the
 * native stand-in in front of it (ECS service deployments, PAUSE hooks, ECS's own traffic
 * moves on the production listener rule), and ALB metrics injected into moto's CloudWatch.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ContinueServiceDeploymentCommand, DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { startEcsNativeServer, type EcsNativeServer } from '../support/ecs-native-server.js';
import { MCP, PAUSE_HOOKS, seedNativeService, type NativeService } from '../support/ecs-native-workload.js';
import {
  forwardPercentages,
  seedWorkload,
  serviceTags,
  startAlbTraffic,
  WORKLOAD,
  type SideTraffic,
  type Workload,
} from '../support/ecs-workload.js';
import { motoClientConfig, useMoto } from '../support/moto.js';
import { Job } from '../support/runner.js';

const moto = useMoto();
let server: EcsNativeServer;
let workload: Workload;
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

beforeAll(async () => {
  server = await startEcsNativeServer(moto, { stageMs: 100, minuteMs: 1000 });
  ecsClient = new ECSClient(motoClientConfig(server.url));
  elbv2Client = new ElasticLoadBalancingV2Client(motoClientConfig(moto));
});
afterAll(async () => {
  ecsClient.destroy();
  elbv2Client.destroy();
  await server.close();
});
beforeEach(async () => {
  server.reset();
  workload = await seedWorkload(server.url);
});
afterEach(() => {
  expect(server.problems).toEqual([]);
});

function job(): Job {
  return new Job({
    AWS_ENDPOINT_URL: server.url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: WORKLOAD.region,
  });
}

let ecsClient: ECSClient;
let elbv2Client: ElasticLoadBalancingV2Client;
const ecs = () => ecsClient;
const elbv2 = () => elbv2Client;

async function liveTaskDefinition(): Promise<string | undefined> {
  return (await ecs().send(new DescribeServicesCommand({ cluster: WORKLOAD.cluster, services: [MCP.service] })))
    .services?.[0]?.taskDefinition;
}

/** ALB metrics for the two target groups while a test runs; `canary` decides the new side's errors. */
function traffic(native: NativeService, canaryErrors: () => number): { stop(): Promise<void> } {
  const cw = new CloudWatchClient(motoClientConfig(moto));
  const t = startAlbTraffic(
    cw,
    workload.loadBalancerArn,
    (): Record<string, SideTraffic> => ({
      [native.targetGroups.blue]: { requests: 50, errors: 0 },
      [native.targetGroups.green]: { requests: 50, errors: canaryErrors() },
    }),
    { tickMs: 2000 },
  );
  return { stop: async () => (await t.stop(), cw.destroy()) };
}

describe('ecs-deploy: ECS native strategies (stand-in in front of moto)', () => {
  it('canary: follows the service deployment, judges the canary step while ECS holds it, continues on pass', async () => {
    const native = await seedNativeService(server.url, workload, {
      strategy: 'CANARY',
      canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: 0 },
      bakeTimeInMinutes: 0,
      lifecycleHooks: PAUSE_HOOKS,
    });
    const metrics = traffic(native, () => 0);
    try {
      const step = await job().run('ecs-deploy', {
        inputs: {
          cluster: WORKLOAD.cluster,
          service: MCP.service,
          image: MCP.imageV2,
          steps: '25,50,100',
          'step-duration': '20s',
          analysis: ANALYSIS,
          'wait-timeout': '2m',
        },
      });
      expect(step.log).toContain('Engine ecs-native, strategy canary');
      expect(step.exitCode).toBe(0);
      expect(step.outputs.status).toBe('succeeded');
      expect(step.outputs.engine).toBe('ecs-native');
      // The steps come from the service; the input that disagrees is reported, not used.
      expect(
        step.annotations
          .filter((a) => a.level === 'warning')
          .map((a) => a.message)
          .join('\n'),
      ).toMatch(
        /Input 'steps' \(25,50,100\) is ignored: ECS shifts the traffic of this service by its own CANARY configuration \(10,100\)/,
      );
      expect(step.log).toMatch(
        /Step 1\/2: 10% on the new version, 90% on stable \(confirmed: listener rule .*mcp-proxy-green 10%/,
      );
      expect(step.log).toMatch(/Step 1 analysis: pass/);

      // ECS was held at each pause and moved on only by ContinueServiceDeployment, never stopped.
      const continues = server.requests('ContinueServiceDeployment') as Array<{ action: string }>;
      expect(continues.length).toBe(3); // before 10%, before 100%, after 100%
      expect(continues.every((c) => c.action === 'CONTINUE')).toBe(true);
      expect(server.count('StopServiceDeployment')).toBe(0);
      const [initial, rollout] = server.serviceDeployments(native.serviceArn) as Array<{
        status: string;
        lifecycleHookDetails: Array<{ status: string }>;
      }>;
      expect(initial?.status).toBe('SUCCESSFUL');
      expect(rollout?.status).toBe('SUCCESSFUL');
      expect(rollout?.lifecycleHookDetails.map((h) => h.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);

      // Final state: all traffic on the new revision's target group, the service on it, no record left.
      expect(await forwardPercentages(elbv2(), native.ruleArn)).toEqual({
        [native.targetGroups.blue]: 0,
        [native.targetGroups.green]: 100,
      });
      expect(await liveTaskDefinition()).toBe(step.outputs['task-definition-arn']);
      expect(step.outputs['previous-task-definition-arn']).toBe(native.taskDefinitionArn);
      expect(await serviceTags(ecs(), native.serviceArn)).not.toHaveProperty('platform-actions:rollout');
      expect(step.summary).toContain('mcp-proxy-green');
    } finally {
      await metrics.stop();
    }
  }, 120_000);

  it('canary: a failing canary is stopped with rollback; ECS returns all traffic to the old revision', async () => {
    const native = await seedNativeService(server.url, workload, {
      strategy: 'CANARY',
      canaryConfiguration: { canaryPercent: 20, canaryBakeTimeInMinutes: 0 },
      bakeTimeInMinutes: 0,
      lifecycleHooks: PAUSE_HOOKS,
    });
    const metrics = traffic(native, () => 10); // 20% of the canary's requests fail
    try {
      const step = await job().run('ecs-deploy', {
        inputs: {
          cluster: WORKLOAD.cluster,
          service: MCP.service,
          image: MCP.imageV2,
          'step-duration': '1m',
          analysis: ANALYSIS,
          'wait-timeout': '2m',
        },
      });
      expect(step.exitCode).toBe(1);
      expect(step.outputs.status).toBe('rolled-back');
      expect(step.log).toMatch(/Step 1 analysis: fail/);
      expect(step.log).toContain('StopServiceDeployment ROLLBACK');
      expect(step.failure).toMatch(/Step 1 \(20%\) analysis failed/);

      expect(server.requests('StopServiceDeployment')).toEqual([
        {
          serviceDeploymentArn: expect.stringContaining(':service-deployment/platform/mcp-proxy/'),
          stopType: 'ROLLBACK',
        },
      ]);
      const rollout = server.serviceDeployments(native.serviceArn)[1] as {
        status: string;
        rollback?: { reason: string };
      };
      expect(rollout.status).toBe('ROLLBACK_SUCCESSFUL');
      expect(await forwardPercentages(elbv2(), native.ruleArn)).toEqual({
        [native.targetGroups.blue]: 100,
        [native.targetGroups.green]: 0,
      });
      expect(await liveTaskDefinition()).toBe(native.taskDefinitionArn);
      expect(await serviceTags(ecs(), native.serviceArn)).not.toHaveProperty('platform-actions:rollout');
      // The evidence: the verdict with its numbers.
      expect(step.summary).toMatch(/error-rate/);
      expect(step.summary).toMatch(/20(\.0)?%/);
    } finally {
      await metrics.stop();
    }
  }, 120_000);

  it('blue/green: judges the new revision after the switch while the old one still runs, then lets ECS finish', async () => {
    const native = await seedNativeService(server.url, workload, {
      strategy: 'BLUE_GREEN',
      bakeTimeInMinutes: 1,
      lifecycleHooks: [{ targetType: 'PAUSE', lifecycleStages: ['POST_PRODUCTION_TRAFFIC_SHIFT'] }],
    });
    const metrics = traffic(native, () => 0);
    try {
      const step = await job().run('ecs-deploy', {
        inputs: {
          cluster: WORKLOAD.cluster,
          service: MCP.service,
          strategy: 'blue-green',
          image: MCP.imageV2,
          'step-duration': '20s',
          analysis: ANALYSIS,
          'wait-timeout': '2m',
        },
      });
      expect(step.exitCode).toBe(0);
      expect(step.outputs.status).toBe('succeeded');
      expect(step.log).toMatch(/Step 1\/1: 100% on the new version, 0% on stable/);
      expect(step.log).toMatch(/ECS holds deployment \S+ at POST_PRODUCTION_TRAFFIC_SHIFT/);
      expect((server.serviceDeployments(native.serviceArn)[1] as { status: string }).status).toBe('SUCCESSFUL');
      expect(await forwardPercentages(elbv2(), native.ruleArn)).toEqual({
        [native.targetGroups.blue]: 0,
        [native.targetGroups.green]: 100,
      });
    } finally {
      await metrics.stop();
    }
  }, 120_000);

  it('lets the post step stop the native deployment with rollback after the main step was killed mid-step', async () => {
    const native = await seedNativeService(server.url, workload, {
      strategy: 'LINEAR',
      linearConfiguration: { stepPercent: 25, stepBakeTimeInMinutes: 0 },
      bakeTimeInMinutes: 0,
      lifecycleHooks: PAUSE_HOOKS,
    });
    const metrics = traffic(native, () => 0);
    try {
      const j = job();
      const running = j.start('ecs-deploy', {
        inputs: {
          cluster: WORKLOAD.cluster,
          service: MCP.service,
          image: MCP.imageV2,
          'step-duration': '5m',
          analysis: ANALYSIS,
        },
      });
      await running.waitForLog(/Step 1\/4: 25% on the new version/, 45_000);
      running.kill('SIGKILL');
      const main = await running.done;
      expect((await serviceTags(ecs(), native.serviceArn))['platform-actions:rollout']).toMatch(
        /^v1 id=4242\.1-\w+ e=ecs-native p=shifting s=mcp-proxy:1 c=mcp-proxy:2@[\w-]+ w=25 i=0 t=\d+ r=4242\.1 l=\d+$/,
      );

      const post = await j.post(main);
      expect(post.exitCode).toBe(0);
      expect(post.log).toContain('Found an unfinished rollout');
      expect(post.log).toContain('StopServiceDeployment ROLLBACK');
      expect((server.serviceDeployments(native.serviceArn)[1] as { status: string }).status).toBe(
        'ROLLBACK_SUCCESSFUL',
      );
      expect(await forwardPercentages(elbv2(), native.ruleArn)).toEqual({
        [native.targetGroups.blue]: 100,
        [native.targetGroups.green]: 0,
      });
      expect(await serviceTags(ecs(), native.serviceArn)).not.toHaveProperty('platform-actions:rollout');
    } finally {
      await metrics.stop();
    }
  }, 120_000);

  it("reports ECS rolling the deployment back itself (a deployment alarm) as a rolled-back rollout with ECS's reason", async () => {
    const native = await seedNativeService(server.url, workload, {
      strategy: 'CANARY',
      canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: 0 },
      bakeTimeInMinutes: 0,
      lifecycleHooks: PAUSE_HOOKS,
    });
    const metrics = traffic(native, () => 0);
    try {
      const running = job().start('ecs-deploy', {
        inputs: {
          cluster: WORKLOAD.cluster,
          service: MCP.service,
          image: MCP.imageV2,
          'step-duration': '1m',
          analysis: ANALYSIS,
        },
      });
      await running.waitForLog(/Judging 10% for 1m/, 45_000);
      server.failDeployment(native.serviceArn, 'CloudWatch alarm mcp-proxy-5xx is in ALARM.');
      // Every analysis run also asks ECS, so the next run (10 s later) finds it, not the end of the 1 m bake.
      const step = await running.done;
      expect(step.outputs.status).toBe('rolled-back');
      expect(step.log).toMatch(/analysis run \d \(\+\d+s\): fail — ECS is rolling deployment \S+ back itself/);
      expect(step.failure).toMatch(/Step 1 \(10%\) analysis failed/);
      expect(step.failure).toMatch(
        /ECS is rolling deployment \S+ back itself \(ROLLBACK_(REQUESTED|IN_PROGRESS|SUCCESSFUL)\): CloudWatch alarm mcp-proxy-5xx is in ALARM/,
      );
      expect(server.count('StopServiceDeployment')).toBe(0);
      expect(await forwardPercentages(elbv2(), native.ruleArn)).toEqual({
        [native.targetGroups.blue]: 100,
        [native.targetGroups.green]: 0,
      });
      expect(await liveTaskDefinition()).toBe(native.taskDefinitionArn);
    } finally {
      await metrics.stop();
    }
  }, 120_000);

  it('refuses a native service without the PAUSE hooks it needs, before any change', async () => {
    await seedNativeService(server.url, workload, {
      strategy: 'LINEAR',
      linearConfiguration: { stepPercent: 25, stepBakeTimeInMinutes: 1 },
    });
    const mark = server.calls.length;
    const step = await job().run('ecs-deploy', {
      inputs: { cluster: WORKLOAD.cluster, service: MCP.service, image: MCP.imageV2 },
    });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toMatch(/no PAUSE lifecycle hook at PRE_PRODUCTION_TRAFFIC_SHIFT/);
    expect(step.failure).toMatch(/hold each step \(25%, 50%, 75%\)/);
    expect(step.failure).toMatch(/lifecycleHooks: \[\{ targetType: PAUSE/);
    const changes = server.calls
      .slice(mark)
      .filter((c) => ['RegisterTaskDefinition', 'UpdateService', 'TagResource'].includes(c.operation));
    expect(changes).toEqual([]);
  });
});

describe('the native stand-in', () => {
  it('refuses requests that do not fit the ECS API model, and says which field', async () => {
    {
      await expect(
        ecs().send(
          new ContinueServiceDeploymentCommand({
            serviceDeploymentArn: 'arn:aws:ecs:us-east-1:123456789012:service-deployment/platform/x/abc',
            hookId: 'h',
            action: 'PROCEED' as never,
          }),
        ),
      ).rejects.toMatchObject({
        name: 'InvalidParameterException',
        message: expect.stringContaining("'PROCEED' is not one of ROLLBACK, CONTINUE"),
      });
      expect(server.problems).toEqual([expect.stringContaining('ContinueServiceDeployment request.action')]);
      server.problems.length = 0;
    }
  });
});
