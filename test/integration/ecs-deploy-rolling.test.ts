/**
 * ecs-deploy's rolling engine (ECS controller) against moto, dry runs, and every kind of
 * bad input failing before anything is changed.
 *
 * moto's rolling deployments never FAIL (its UpdateService adds no deployment entry), so
 * the failure is driven the way a real one is often caught: a CloudWatch alarm the test
 * sets to ALARM while the new version bakes.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { startAwsProxy, type AwsProxy } from '../support/aws-proxy.js';
import {
  forwardPercentages,
  IMAGES,
  liveTaskDefinition,
  putAlarm,
  seedWorkload,
  startAlbTraffic,
  taskSetsOf,
  workloadClients,
  WORKLOAD,
  type Workload,
} from '../support/ecs-workload.js';
import { motoEndpoint, resetMoto } from '../support/moto.js';
import { Job } from '../support/runner.js';

const moto = motoEndpoint();
const clients = workloadClients(moto);
let proxy: AwsProxy;
let w: Workload;

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
];

const SPEC = `
interval: 10s
failure-limit: 1
provider: cloudwatch
metrics:
  - { name: error-rate, query: alb:error-rate, min-count: 10, judge: { threshold: { max: 1% } } }
`;

function job(env: Record<string, string> = {}): Job {
  return new Job({
    AWS_ENDPOINT_URL: proxy.url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: WORKLOAD.region,
    ...env,
  });
}

const gateway = (extra: Record<string, string> = {}) => ({
  cluster: WORKLOAD.cluster,
  service: WORKLOAD.gateway,
  'container-name': WORKLOAD.gateway,
  image: IMAGES.gatewayV2,
  'step-duration': '10s',
  analysis: SPEC,
  ...extra,
});

beforeAll(async () => {
  proxy = await startAwsProxy(moto);
});
afterAll(async () => {
  clients.destroy();
  await proxy.close();
});
beforeEach(async () => {
  await resetMoto(moto);
  w = await seedWorkload(moto);
  proxy.reset();
});

describe('ecs-deploy: rolling updates', () => {
  it('updates the service, follows the deployment, judges the bake and succeeds', async () => {
    const traffic = startAlbTraffic(clients.cloudwatch, w.loadBalancerArn, () => ({
      [w.targetGroups.gateway]: { requests: 100, errors: 0 },
    }));
    const step = await job().run('ecs-deploy', { inputs: gateway() });
    await traffic.stop();

    expect(step.failure).toBeUndefined();
    expect(step.outputs).toMatchObject({
      status: 'succeeded',
      engine: 'ecs-rolling',
      'task-definition-arn': w.gateway.taskDefinitionArn.replace(/:1$/, ':2'),
      'previous-task-definition-arn': w.gateway.taskDefinitionArn,
      image: IMAGES.gatewayV2,
    });
    expect(step.log).toContain(
      'Engine ecs-rolling, strategy rolling: The service uses the ECS controller with the default rolling deployments',
    );
    expect(step.log).toMatch(/analysis run 1 \(\+10s\): pass — error-rate 0% ≤ 1% \(\d+ requests\)/);
    expect(await liveTaskDefinition(clients.ecs, WORKLOAD.gateway)).toBe(step.outputs['task-definition-arn']);
    expect(proxy.requests('UpdateService')).toEqual([
      { cluster: WORKLOAD.cluster, service: WORKLOAD.gateway, taskDefinition: step.outputs['task-definition-arn'] },
    ]);
    const registered = proxy.requests('RegisterTaskDefinition')[0] as {
      tags: Array<{ key: string; value: string }>;
      containerDefinitions: Array<{ image: string }>;
    };
    expect(registered.containerDefinitions[0]?.image).toBe(IMAGES.gatewayV2);
    expect(registered.tags).toEqual([{ key: 'platform-actions:deployment', value: step.outputs['deployment-id'] }]);
    expect(step.summary).toContain('### ✅ bedrock-access-gateway on platform (ECS): succeeded');
  }, 60_000);

  it('rolls back to the previous task definition when an alarm goes off during the bake, and says why', async () => {
    await putAlarm(clients.cloudwatch, 'gateway-5xx');
    const running = job().start('ecs-deploy', {
      inputs: gateway({ alarms: 'gateway-5xx', analysis: 'none', 'step-duration': '2m' }),
    });
    await running.waitForLog(/Judging 100% for 2m/);
    await clients.cloudwatch.send(
      new SetAlarmStateCommand({
        AlarmName: 'gateway-5xx',
        StateValue: 'ALARM',
        StateReason: 'Threshold Crossed: 1 datapoint [12.0] was greater than the threshold (5.0).',
      }),
    );
    const step = await running.done;

    expect(step.exitCode).toBe(1);
    expect(step.outputs.status).toBe('rolled-back');
    expect(step.failure).toContain(
      'Step 1 (100%) analysis failed: A run failed: alarm gateway-5xx is in ALARM: Threshold Crossed: 1 datapoint [12.0] was greater than the threshold (5.0).',
    );
    expect(step.failure).toContain(`Rolled back to ${WORKLOAD.gateway}:1`);
    expect(await liveTaskDefinition(clients.ecs, WORKLOAD.gateway)).toBe(w.gateway.taskDefinitionArn);
    expect(proxy.requests('UpdateService').map((r) => (r as { taskDefinition: string }).taskDefinition)).toEqual([
      step.outputs['task-definition-arn'],
      w.gateway.taskDefinitionArn,
    ]);
    expect(step.summary).toContain('### ↩️ bedrock-access-gateway on platform (ECS): rolled-back');
    expect(step.summary).toContain('alarm gateway-5xx is in ALARM');
  }, 60_000);

  it('does not count an alarm that was in ALARM before the rollout (a hotfix) until it clears', async () => {
    await putAlarm(clients.cloudwatch, 'gateway-5xx');
    await clients.cloudwatch.send(
      new SetAlarmStateCommand({ AlarmName: 'gateway-5xx', StateValue: 'ALARM', StateReason: 'Threshold Crossed' }),
    );
    const step = await job().run('ecs-deploy', { inputs: gateway({ alarms: 'gateway-5xx', analysis: 'none' }) });
    expect(step.log).toContain(
      'Already in ALARM, so not counted until they clear: alarm gateway-5xx is in ALARM: Threshold Crossed.',
    );
    expect(step.log).toContain('not counted until it clears');
    expect(step.outputs.status).toBe('succeeded');
  }, 60_000);

  it('prints the task definition diff, the engine, the weights and steps on a dry run, and changes nothing', async () => {
    const rolling = await job().run('ecs-deploy', {
      inputs: gateway({
        'dry-run': 'true',
        'environment-variables': 'LOG_LEVEL=debug\nDEFAULT_MODEL=anthropic.claude-3-sonnet',
      }),
    });
    expect(rolling.exitCode).toBe(0);
    expect(rolling.log).toContain('Engine ecs-rolling, strategy rolling');
    expect(rolling.log).toContain(
      `~ container[bedrock-access-gateway].image: ${IMAGES.gatewayV1} → ${IMAGES.gatewayV2}`,
    );
    expect(rolling.log).toContain('+ container[bedrock-access-gateway].environment.LOG_LEVEL: debug');
    expect(rolling.log).toContain('Dry run: nothing was changed.');
    expect(rolling.outputs.status).toBeUndefined();

    const canary = await job().run('ecs-deploy', {
      inputs: {
        cluster: WORKLOAD.cluster,
        service: WORKLOAD.web,
        image: IMAGES.webV2,
        strategy: 'linear',
        steps: '25',
        'dry-run': 'true',
        analysis: SPEC,
      },
    });
    expect(canary.exitCode).toBe(0);
    expect(canary.log).toContain('Plan: 25% for 5m → 50% for 5m → 75% for 5m → 100%.');
    expect(canary.log).toContain('stable task set');
    expect(canary.summary).toContain('new version in `open-webui-green`');
    expect(MUTATIONS.filter((op) => proxy.count(op) > 0)).toEqual([]);
  }, 60_000);

  it('refuses bad input with a clear error before any change', async () => {
    const web = {
      cluster: WORKLOAD.cluster,
      service: WORKLOAD.web,
      'container-name': WORKLOAD.web,
      image: IMAGES.webV2,
    };
    const cases: Array<[string, Record<string, string>, RegExp, Record<string, string>?]> = [
      [
        'unknown strategy',
        { ...web, strategy: 'big-bang' },
        /Input 'strategy' must be one of 'auto', 'rolling', 'blue-green', 'canary', 'linear', not 'big-bang'/,
      ],
      [
        'weights not increasing',
        { ...web, strategy: 'canary', steps: '50,10,100' },
        /Input 'steps' \(50,10,100\) is not increasing: 10 comes after 50/,
      ],
      ['weights not ending at 100', { ...web, steps: '10,50' }, /Input 'steps' \(10,50\) ends at 50%, not 100%/],
      [
        'a rule that does not forward to the target groups',
        { ...web, 'listener-rule-arn': '', 'target-groups': '' },
        /forwards to platform-gateway, not to the target groups open-webui-blue, open-webui-green/,
      ],
      [
        'target-groups with a rolling service',
        { ...gateway(), 'target-groups': '' },
        /target-groups is set, but service bedrock-access-gateway uses the ECS deployment controller/,
      ],
      [
        'an image without a tag or digest',
        { ...web, image: 'ghcr.io/open-webui/open-webui' },
        /has neither a tag nor a digest/,
      ],
      [
        'a container the task definition does not have',
        { ...web, 'container-name': 'webui' },
        /names container 'webui', which task definition open-webui:1 does not have \(it has: open-webui\)/,
      ],
      [
        'no region',
        { ...web },
        /No AWS region: aws-region is empty and neither AWS_REGION nor AWS_DEFAULT_REGION is set/,
        { AWS_REGION: '', AWS_DEFAULT_REGION: '' },
      ],
      [
        'canary on a rolling service',
        { ...gateway(), strategy: 'canary' },
        /uses rolling deployments \(ECS controller, strategy ROLLING\), so a canary rollout is not possible/,
      ],
      [
        'an alarm that does not exist',
        { ...gateway(), alarms: 'no-such-alarm' },
        /alarms input names CloudWatch alarms that do not exist in this region: no-such-alarm/,
      ],
    ];
    for (const [what, given, message, env] of cases) {
      if ('listener-rule-arn' in given) given['listener-rule-arn'] = w.gatewayRuleArn;
      if ('target-groups' in given) given['target-groups'] = `${w.targetGroups.blue},${w.targetGroups.green}`;
      const step = await job(env).run('ecs-deploy', { inputs: given });
      expect([what, step.exitCode]).toEqual([what, 1]);
      expect([what, step.failure]).toEqual([what, expect.stringMatching(message)]);
      expect([what, step.log]).not.toEqual([what, expect.stringContaining('Unexpected error')]);
    }
    expect(MUTATIONS.filter((op) => proxy.count(op) > 0)).toEqual([]);
    expect(byName(await forwardPercentages(clients.elbv2, w.listenerArn))).toEqual({
      'open-webui-blue': 100,
      'open-webui-green': 0,
    });
    expect(await taskSetsOf(clients.ecs, WORKLOAD.web)).toHaveLength(1);
  }, 90_000);
});

const byName = (p: Record<string, number>) =>
  Object.fromEntries(Object.entries(p).map(([arn, v]) => [/targetgroup\/([^/]+)\//.exec(arn)?.[1], v]));
