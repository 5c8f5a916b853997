/**
 * ecs-deploy's smoke checks on an ECS native deployment, the bundle run as the runner runs
 * it, against moto with the native stand-in in front (ECS's lifecycle stages, PAUSE hooks,
 * its moves of the production rule and of the test listener in moto).
 *
 * moto serves no traffic, so a loopback app plays the test listener's data plane: for each
 * request it reads the test listener's forward from moto and answers as the target group
 * with the weight (the new revision's group, green, can be made to answer 500). A sampler
 * reads the production rule all along, so "production never moved" is what moto held, not
 * what the action says.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { DescribeServicesCommand, ECSClient, type DeploymentConfiguration } from '@aws-sdk/client-ecs';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DescribeListenersCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { startEcsNativeServer, type EcsNativeServer } from '../support/ecs-native-server.js';
import { MCP, PAUSE_HOOKS, seedNativeService, type NativeService } from '../support/ecs-native-workload.js';
import { forwardPercentages, seedWorkload, startAlbTraffic, WORKLOAD, type Workload } from '../support/ecs-workload.js';
import { motoClientConfig, useMoto } from '../support/moto.js';
import { Job } from '../support/runner.js';

const moto = useMoto();
let server: EcsNativeServer;
let workload: Workload;
let ecs: ECSClient;
let elbv2: ElasticLoadBalancingV2Client;
let testListener: Server;
let testUrl: string;
let native: NativeService | undefined;
/** What the new revision's target group answers. */
let greenStatus = 200;
/** Requests the test listener served: which group, and when. */
const served: Array<{ group: string; path: string; at: number }> = [];

const tgName = (arn: string) => /targetgroup\/([^/]+)\//.exec(arn)?.[1] ?? arn;

const SMOKE_HOOK: NonNullable<DeploymentConfiguration['lifecycleHooks']>[number] = {
  targetType: 'PAUSE',
  lifecycleStages: ['POST_TEST_TRAFFIC_SHIFT'],
  timeoutConfiguration: { timeoutInMinutes: 30, action: 'ROLLBACK' },
};
const CANARY = (hooks = [...(PAUSE_HOOKS ?? []), SMOKE_HOOK]): DeploymentConfiguration => ({
  strategy: 'CANARY',
  canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: 0 },
  bakeTimeInMinutes: 0,
  lifecycleHooks: hooks,
});

const SPEC = `
interval: 10s
failure-limit: 1
metrics:
  - { name: error-rate, provider: cloudwatch, query: alb:error-rate, min-count: 20, judge: { threshold: { max: 1% } } }
smoke:
  retries: 1
  retry-delay: 100ms
  checks:
    - { name: health, path: /healthz, json: { path: $.status, equals: ok } }
`;

function job(): Job {
  return new Job({
    AWS_ENDPOINT_URL: server.url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: WORKLOAD.region,
  });
}

const inputs = (extra: Record<string, string> = {}) => ({
  cluster: WORKLOAD.cluster,
  service: MCP.service,
  image: MCP.imageV2,
  'step-duration': '10s',
  'wait-timeout': '2m',
  analysis: SPEC,
  'smoke-url': testUrl,
  ...extra,
});

/** Samples the production rule while a job runs: the most the new revision's group ever had, and when it first had any. */
function watchProduction(n: NativeService): { stop(): Promise<{ maxGreen: number; firstGreenAt?: number }> } {
  let maxGreen = 0;
  let firstGreenAt: number | undefined;
  let running = true;
  const loop = (async () => {
    while (running) {
      const green = (await forwardPercentages(elbv2, n.ruleArn))[n.targetGroups.green] ?? 0;
      if (green > 0 && firstGreenAt === undefined) firstGreenAt = Date.now();
      maxGreen = Math.max(maxGreen, green);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { maxGreen, ...(firstGreenAt !== undefined ? { firstGreenAt } : {}) };
    },
  };
}

beforeAll(async () => {
  server = await startEcsNativeServer(moto, { stageMs: 100, minuteMs: 1000 });
  ecs = new ECSClient(motoClientConfig(server.url));
  elbv2 = new ElasticLoadBalancingV2Client(motoClientConfig(moto));
  testListener = createServer((req, res) => {
    const listenerArn = native?.testListenerArn;
    void (async () => {
      const listener = (await elbv2.send(new DescribeListenersCommand({ ListenerArns: [listenerArn as string] })))
        .Listeners?.[0];
      const groups = listener?.DefaultActions?.find((a) => a.Type === 'forward')?.ForwardConfig?.TargetGroups ?? [];
      return tgName([...groups].sort((a, b) => (b.Weight ?? 0) - (a.Weight ?? 0))[0]?.TargetGroupArn ?? 'none');
    })().then(
      (group) => {
        served.push({ group, path: req.url ?? '', at: Date.now() });
        const status = group === 'mcp-proxy-green' ? greenStatus : 200;
        res
          .writeHead(status, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: status === 200 ? 'ok' : 'error', group }));
      },
      (err: unknown) => res.writeHead(502).end(String(err)),
    );
  });
  await new Promise<void>((r) => testListener.listen(0, '127.0.0.1', r));
  testUrl = `http://127.0.0.1:${(testListener.address() as AddressInfo).port}`;
});
afterAll(async () => {
  ecs.destroy();
  elbv2.destroy();
  await server.close();
  await new Promise((r) => testListener.close(r));
});
beforeEach(async () => {
  server.reset();
  served.length = 0;
  native = undefined;
  workload = await seedWorkload(server.url);
});
afterEach(() => {
  expect(server.problems).toEqual([]);
});

/** Seeds the native service, then forgets the seeding calls so that counts are the job's. */
async function seed(config: DeploymentConfiguration, options: { testListener?: boolean } = {}): Promise<NativeService> {
  native = await seedNativeService(server.url, workload, config, options);
  server.calls.length = 0;
  return native;
}

async function liveTaskDefinition(): Promise<string | undefined> {
  return (await ecs.send(new DescribeServicesCommand({ cluster: WORKLOAD.cluster, services: [MCP.service] })))
    .services?.[0]?.taskDefinition;
}

describe('ecs-deploy: smoke checks on ECS native deployments, through the test listener', () => {
  it('rolls back a new revision that fails its smoke checks while ECS holds it after test traffic: production never moved', async () => {
    native = await seed(CANARY(), { testListener: true });
    greenStatus = 500;
    const watch = watchProduction(native);
    const step = await job().run('ecs-deploy', { inputs: inputs() });
    const production = await watch.stop();

    expect(step.outputs.status).toBe('rolled-back');
    expect(step.failure).toContain('smoke checks failed on the new side: health (HTTP 500, expected 200');
    expect(step.failure).toContain('It never had production traffic.');
    expect(step.log).toContain('at POST_TEST_TRAFFIC_SHIFT: the test listener');
    // Every smoke request reached the new revision's group through the test listener.
    expect(served.map((r) => [r.group, r.path])).toEqual([
      ['mcp-proxy-green', '/healthz'],
      ['mcp-proxy-green', '/healthz'],
    ]);
    // Production: never a request's worth of weight on the new revision, at any sample or at the end.
    expect(production.maxGreen).toBe(0);
    expect(await forwardPercentages(elbv2, native.ruleArn)).toEqual({
      [native.targetGroups.blue]: 100,
      [native.targetGroups.green]: 0,
    });
    // ECS rolled the deployment back; the smoke hook was never continued.
    expect(server.count('StopServiceDeployment') + server.count('ContinueServiceDeployment')).toBeGreaterThan(0);
    const continued = server.requests('ContinueServiceDeployment') as Array<{ action: string }>;
    expect(continued.filter((c) => c.action === 'CONTINUE')).toEqual([]);
    const rollout = server.serviceDeployments(native.serviceArn).at(-1) as { status: string };
    expect(rollout.status).toBe('ROLLBACK_SUCCESSFUL');
    expect(await liveTaskDefinition()).toBe(native.taskDefinitionArn);
    // The test listener is back on the old revision too.
    expect(
      await forwardPercentages(elbv2, native.testListenerArn as string).then((p) => p[native?.targetGroups.blue ?? '']),
    ).toBe(100);
  }, 120_000);

  it('lets a new revision that passes go on: the checks run before the first production weight', async () => {
    // A PAUSE hook at POST_SCALE_UP too: continued on the way to the test traffic.
    native = await seed(
      CANARY([
        ...(PAUSE_HOOKS ?? []),
        { ...SMOKE_HOOK, lifecycleStages: ['POST_SCALE_UP', 'POST_TEST_TRAFFIC_SHIFT'] },
      ]),
      { testListener: true },
    );
    greenStatus = 200;
    const cw = new CloudWatchClient(motoClientConfig(moto));
    const n = native;
    const metrics = startAlbTraffic(
      cw,
      workload.loadBalancerArn,
      () => ({
        [n.targetGroups.blue]: { requests: 50, errors: 0 },
        [n.targetGroups.green]: { requests: 50, errors: 0 },
      }),
      { tickMs: 2000 },
    );
    const watch = watchProduction(native);
    let step;
    try {
      step = await job().run('ecs-deploy', { inputs: inputs() });
    } finally {
      await metrics.stop();
      cw.destroy();
    }
    const production = await watch.stop();

    expect(step.failure).toBeUndefined();
    expect(step.outputs.status).toBe('succeeded');
    expect(served.length).toBeGreaterThan(0);
    expect(served.every((r) => r.group === 'mcp-proxy-green')).toBe(true);
    // The smoke requests all came before production traffic first moved to the new revision.
    expect(production.firstGreenAt).toBeDefined();
    expect(Math.max(...served.map((r) => r.at))).toBeLessThan(production.firstGreenAt as number);
    expect(step.log).toContain('at POST_SCALE_UP, before the test traffic: continuing it');
    // POST_SCALE_UP, the smoke hook, then the canary's pauses, each continued once.
    const continued = server.requests('ContinueServiceDeployment') as Array<{ action: string }>;
    expect(continued.map((c) => c.action)).toEqual(['CONTINUE', 'CONTINUE', 'CONTINUE', 'CONTINUE', 'CONTINUE']);
    expect(await forwardPercentages(elbv2, native.ruleArn)).toEqual({
      [native.targetGroups.blue]: 0,
      [native.targetGroups.green]: 100,
    });
    expect(await liveTaskDefinition()).toBe(step.outputs['task-definition-arn']);
  }, 120_000);

  it('refuses before any change when the service has no test listener rule', async () => {
    native = await seed(CANARY());
    const step = await job().run('ecs-deploy', { inputs: inputs() });

    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain(
      'has no test listener rule (loadBalancers[].advancedConfiguration.testListenerRule)',
    );
    expect(step.failure).toContain('Nothing was changed.');
    for (const op of ['RegisterTaskDefinition', 'UpdateService']) expect(server.count(op)).toBe(0);
  }, 30_000);

  it('refuses before any change when no PAUSE hook holds the deployment after test traffic', async () => {
    native = await seed(CANARY(PAUSE_HOOKS), { testListener: true });
    const step = await job().run('ecs-deploy', { inputs: inputs() });

    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain('has no PAUSE lifecycle hook at POST_TEST_TRAFFIC_SHIFT');
    expect(step.failure).toContain('lifecycleStages: [POST_TEST_TRAFFIC_SHIFT]');
    for (const op of ['RegisterTaskDefinition', 'UpdateService']) expect(server.count(op)).toBe(0);
  }, 30_000);

  it('refuses a smoke hook whose timeout action would continue the deployment unchecked', async () => {
    native = await seed(
      CANARY([
        ...(PAUSE_HOOKS ?? []),
        { ...SMOKE_HOOK, timeoutConfiguration: { timeoutInMinutes: 30, action: 'CONTINUE' } },
      ]),
      { testListener: true },
    );
    const step = await job().run('ecs-deploy', { inputs: inputs() });

    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain('has timeout action CONTINUE');
    for (const op of ['RegisterTaskDefinition', 'UpdateService']) expect(server.count(op)).toBe(0);
  }, 30_000);
});
