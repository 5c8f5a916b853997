/**
 * The rollback action, through its bundle, against moto (with the native stand-in in front
 * for services with an ECS native strategy) on the seed workload: a task-set rollout killed
 * at 50%, a native rollout killed mid-step, a native deployment in flight without a record,
 * the previous task definition on a rolling and on a task-set service, GitHub Deployments,
 * nothing to do, and bad input.
 */
import { describe, expect, it } from '@jest/globals';
import { DescribeServicesCommand, RegisterTaskDefinitionCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { startEcsNativeServer, type EcsNativeServer } from '../support/ecs-native-server.js';
import { MCP, PAUSE_HOOKS, seedNativeService } from '../support/ecs-native-workload.js';
import { useEcsLab } from '../support/ecs-lab.js';
import { IMAGES, serviceTags, taskSetsOf, workloadClients, WORKLOAD } from '../support/ecs-workload.js';
import { type Job } from '../support/runner.js';

const lab = useEcsLab<EcsNativeServer>({
  front: (moto) => startEcsNativeServer(moto, { stageMs: 100, minuteMs: 1000 }),
  github: true,
  seedThroughFront: true,
});

const SPEC = `
interval: 10s
provider: cloudwatch
metrics:
  - { name: error-rate, query: alb:error-rate, min-count: 10, judge: { threshold: { max: 1% } } }
`;

const job = (runId = '4242'): Job => lab.job(runId, lab.gh.env());

const ok = { requests: 100, errors: 0 };

describe('rollback (ECS)', () => {
  it('undoes a task-set rollout killed at 50% from its record, and records it in GitHub Deployments', async () => {
    lab.traffic(() => ({
      blue: ok,
      green: ok,
    }));
    const deploy = job().start('ecs-deploy', {
      inputs: {
        cluster: WORKLOAD.cluster,
        service: WORKLOAD.web,
        'container-name': WORKLOAD.web,
        image: IMAGES.webV2,
        steps: '10:10s,50,100',
        'step-duration': '5m',
        analysis: SPEC,
        environment: 'production',
        'github-token': lab.gh.token,
      },
    });
    await deploy.waitForLog(/Step 2\/3: 50% on the new version/, 45_000);
    deploy.kill('SIGKILL');
    await deploy.done;
    expect(await lab.weights()).toEqual({
      'open-webui-blue': 50,
      'open-webui-green': 50,
    });
    expect(await taskSetsOf(lab.clients.ecs, WORKLOAD.web)).toHaveLength(2);
    const [interrupted] = [...lab.gh.store.repo('acme', 'webapp').deployments.values()];
    expect(interrupted?.statuses.map((s) => s.state)).toEqual(['in_progress']);

    const step = await job('4300').run('rollback', {
      inputs: {
        cluster: WORKLOAD.cluster,
        service: WORKLOAD.web,
        reason: 'p95 latency alert from on-call',
        environment: 'production',
        'github-token': lab.gh.token,
      },
    });
    expect(step.failure).toBeUndefined();
    expect(step.outputs.status).toBe('rolled-back');
    expect(step.outputs['rolled-back-to']).toBe(lab.workload.web.taskDefinitionArn);
    expect(Number(step.outputs['recovery-seconds'])).toBeGreaterThanOrEqual(0);
    expect(step.log).toMatch(
      /Found an unfinished rollout 4242\.1-\w+ \(ecs-task-set\), shifting at step 2 with up to 50% on the new version/,
    );

    // Traffic all on stable in one ModifyListener holding both target groups; the canary task set gone; no record left.
    expect(await lab.weights()).toEqual({
      'open-webui-blue': 100,
      'open-webui-green': 0,
    });
    expect((await taskSetsOf(lab.clients.ecs, WORKLOAD.web)).map((t) => [t.id, t.status])).toEqual([
      [lab.workload.web.taskSetId, 'PRIMARY'],
    ]);
    expect(await serviceTags(lab.clients.ecs, lab.workload.web.serviceArn)).not.toHaveProperty(
      'platform-actions:rollout',
    );
    expect(lab.proxy.calls.filter((c) => c.operation === 'DeleteTaskSet' && c.status === 200)).toHaveLength(1);

    expect(step.summary).toContain('### ↩️ Rolled back open-webui on platform (ECS)');
    expect(step.summary).toContain('| **Reason** | p95 latency alert from on-call |');
    expect(step.summary).toMatch(/Undid rollout 4242\.1-\w+ \(ecs-task-set\) from its record/);
    // The interrupted deployment is marked failed; the rollback is a deployment of its own.
    expect(interrupted?.statuses.map((s) => s.state)).toEqual(['in_progress', 'failure']);
    expect(interrupted?.statuses[1]?.description).toBe('Rolled back: p95 latency alert from on-call');
    const rollback = [...lab.gh.store.repo('acme', 'webapp').deployments.values()].find((d) => d !== interrupted);
    expect(rollback?.payload).toMatchObject({
      tool: 'platform-actions',
      image: IMAGES.webV1,
      service: WORKLOAD.web,
      platform: 'ecs',
      engine: 'ecs-task-set',
      rollback: true,
    });
    expect(rollback?.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
  }, 120_000);

  it('stops a native deployment with rollback: from the record of a killed rollout, and without any record', async () => {
    const native = await seedNativeService(lab.proxy.url, lab.workload, {
      strategy: 'CANARY',
      canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: 0 },
      bakeTimeInMinutes: 0,
      lifecycleHooks: PAUSE_HOOKS,
    });
    lab.traffic(() => ({
      [native.targetGroups.blue]: ok,
      [native.targetGroups.green]: ok,
    }));
    const deploy = job().start('ecs-deploy', {
      inputs: {
        cluster: WORKLOAD.cluster,
        service: MCP.service,
        image: MCP.imageV2,
        'step-duration': '5m',
        analysis: SPEC,
      },
    });
    await deploy.waitForLog(/Step 1\/2: 10% on the new version/, 45_000);
    deploy.kill('SIGKILL');
    await deploy.done;
    expect(await lab.weights(native.ruleArn)).toEqual({
      'mcp-proxy-blue': 90,
      'mcp-proxy-green': 10,
    });

    const fromRecord = await job('4300').run('rollback', {
      inputs: { cluster: WORKLOAD.cluster, service: MCP.service, reason: 'bad canary' },
    });
    expect(fromRecord.failure).toBeUndefined();
    expect(fromRecord.outputs.status).toBe('rolled-back');
    expect(fromRecord.outputs['rolled-back-to']).toBe(native.taskDefinitionArn);
    expect(fromRecord.log).toMatch(/Found an unfinished rollout 4242\.1-\w+ \(ecs-native\)/);
    expect(fromRecord.log).toContain('StopServiceDeployment ROLLBACK');
    expect(lab.proxy.requests('StopServiceDeployment')).toEqual([
      { serviceDeploymentArn: expect.stringContaining('service-deployment/platform/mcp-proxy/'), stopType: 'ROLLBACK' },
    ]);
    expect((lab.proxy.serviceDeployments(native.serviceArn)[1] as { status: string }).status).toBe(
      'ROLLBACK_SUCCESSFUL',
    );
    expect(await lab.weights(native.ruleArn)).toEqual({
      'mcp-proxy-blue': 100,
      'mcp-proxy-green': 0,
    });
    expect(await serviceTags(lab.clients.ecs, native.serviceArn)).not.toHaveProperty('platform-actions:rollout');

    // Someone starts a deployment by hand (no record): the rollback action stops that one too.
    const ecs = workloadClients(lab.proxy.url).ecs;
    const td = (
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: MCP.service,
          containerDefinitions: [{ name: MCP.service, image: MCP.imageV2, memory: 512 }],
        }),
      )
    ).taskDefinition?.taskDefinitionArn as string;
    await ecs.send(new UpdateServiceCommand({ cluster: WORKLOAD.cluster, service: MCP.service, taskDefinition: td }));
    const byHand = await job('4301').run('rollback', { inputs: { cluster: WORKLOAD.cluster, service: MCP.service } });
    expect(byHand.failure).toBeUndefined();
    expect(byHand.outputs.status).toBe('rolled-back');
    expect(byHand.summary).toMatch(/Stopped ECS service deployment \S+ \((PENDING|IN_PROGRESS)\) with rollback/);
    expect(byHand.summary).toContain('| **Reason** | no reason given |');
    expect((lab.proxy.serviceDeployments(native.serviceArn)[2] as { status: string }).status).toBe(
      'ROLLBACK_SUCCESSFUL',
    );
    expect(
      (await ecs.send(new DescribeServicesCommand({ cluster: WORKLOAD.cluster, services: [MCP.service] })))
        .services?.[0]?.taskDefinition,
    ).toBe(native.taskDefinitionArn);
    ecs.destroy();
  }, 120_000);

  it('returns a rolling service to the previous task definition and waits; then finds nothing to do for to: the live one', async () => {
    const ecs = lab.clients.ecs;
    const v2 = (
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: WORKLOAD.gateway,
          requiresCompatibilities: ['FARGATE'],
          networkMode: 'awsvpc',
          cpu: '512',
          memory: '1024',
          containerDefinitions: [
            { name: WORKLOAD.gateway, image: IMAGES.gatewayV2, memory: 1024, portMappings: [{ containerPort: 80 }] },
          ],
        }),
      )
    ).taskDefinition?.taskDefinitionArn as string;
    await ecs.send(
      new UpdateServiceCommand({ cluster: WORKLOAD.cluster, service: WORKLOAD.gateway, taskDefinition: v2 }),
    );

    const step = await job().run('rollback', {
      inputs: { cluster: WORKLOAD.cluster, service: WORKLOAD.gateway, reason: 'gateway 1.1.0 leaks connections' },
    });
    expect(step.failure).toBeUndefined();
    expect(step.outputs.status).toBe('rolled-back');
    expect(step.outputs['rolled-back-to']).toBe(lab.workload.gateway.taskDefinitionArn);
    expect(step.summary).toContain('| **Was running** | `bedrock-access-gateway:2` |');
    expect(step.summary).toContain(
      '| **Image** | `111111111111.dkr.ecr.us-east-1.amazonaws.com/bedrock-access-gateway:1.0.0` |',
    );
    expect(step.summary).toContain('Updated the service back to bedrock-access-gateway:1 (a rolling update)');
    expect(
      (await ecs.send(new DescribeServicesCommand({ cluster: WORKLOAD.cluster, services: [WORKLOAD.gateway] })))
        .services?.[0]?.taskDefinition,
    ).toBe(lab.workload.gateway.taskDefinitionArn);

    const again = await job().run('rollback', {
      inputs: { cluster: WORKLOAD.cluster, service: WORKLOAD.gateway, to: `${WORKLOAD.gateway}:1` },
    });
    expect(again.failure).toBeUndefined();
    expect(again.outputs).toMatchObject({
      status: 'nothing-to-do',
      'rolled-back-to': lab.workload.gateway.taskDefinitionArn,
      'recovery-seconds': '0',
    });
    expect(again.summary).toContain('Nothing to roll back');
  }, 90_000);

  it('returns a task-set service to the previous task definition: a new task set of it takes all traffic at once', async () => {
    const deploy = await job().run('ecs-deploy', {
      inputs: {
        cluster: WORKLOAD.cluster,
        service: WORKLOAD.web,
        'container-name': WORKLOAD.web,
        image: IMAGES.webV2,
        steps: '100',
        'step-duration': '0s',
        analysis: 'none',
      },
    });
    expect(deploy.outputs.status).toBe('succeeded');

    const step = await job('4300').run('rollback', { inputs: { cluster: WORKLOAD.cluster, service: WORKLOAD.web } });
    expect(step.failure).toBeUndefined();
    expect(step.outputs.status).toBe('rolled-back');
    // The old task definition registered again (web:3, same content as web:1), in blue again.
    expect(step.outputs['rolled-back-to']).toMatch(/:task-definition\/open-webui:3$/);
    expect(step.summary).toContain('| **Image** | `ghcr.io/open-webui/open-webui:v0.6.5` |');
    const sets = await taskSetsOf(lab.clients.ecs, WORKLOAD.web);
    expect(sets.map((t) => [t.status, t.taskDefinition, t.loadBalancers?.[0]?.targetGroupArn])).toEqual([
      ['PRIMARY', step.outputs['rolled-back-to'], lab.workload.targetGroups.blue],
    ]);
    expect(await lab.weights()).toEqual({
      'open-webui-blue': 100,
      'open-webui-green': 0,
    });
  }, 90_000);

  it('refuses bad input before any change', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ cluster: WORKLOAD.cluster }, /Rolling back on ECS needs cluster and service; service is empty/],
      [
        { cluster: WORKLOAD.cluster, service: WORKLOAD.web, to: 'latest' },
        /Input 'to' is 'latest', which is neither previous nor a task definition/,
      ],
      [
        { cluster: WORKLOAD.cluster, service: WORKLOAD.web, 'http-route': 'web' },
        /http-route is set, but it is not used when rolling back on ecs/,
      ],
      [
        { deployment: 'open-webui', namespace: 'web', to: 'v2' },
        /Input 'to' is 'v2', which is neither previous nor a Deployment revision number/,
      ],
      [
        { deployment: 'open-webui', namespace: 'web' },
        /Rolling back GKE Deployment web\/open-webui needs its cluster: cluster and kubeconfig are empty/,
      ],
      [
        { cluster: WORKLOAD.cluster, service: WORKLOAD.web, environment: 'production' },
        /environment is set but github-token is empty/,
      ],
      [
        { cluster: WORKLOAD.cluster, service: WORKLOAD.web, to: 'open-webui:9' },
        /Task definition 'open-webui:9' was not found/,
      ],
    ];
    const mark = lab.proxy.calls.length;
    for (const [inputs, message] of cases) {
      const step = await job().run('rollback', { inputs });
      expect(step.exitCode).toBe(1);
      expect(step.failure).toMatch(message);
    }
    const changes = lab.proxy.calls.slice(mark).filter((c) => !/^(Describe|List)/.test(c.operation));
    expect(changes).toEqual([]);
  }, 60_000);
});
