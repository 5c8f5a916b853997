/**
 * ecs-deploy's task-set engine, the bundle run as the runner runs it, against moto
 * through the fault proxy, with ALB metrics written into moto's CloudWatch while the
 * rollout runs (stamped now, so each bake's window finds them).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { CreateRuleCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { useEcsLab } from '../support/ecs-lab.js';
import { IMAGES, serviceTags, taskSetsOf, WORKLOAD, type SideTraffic } from '../support/ecs-workload.js';
import { type Job } from '../support/runner.js';

const lab = useEcsLab({ github: true });

const ERROR_RATE = `
interval: 10s
failure-limit: 1
provider: cloudwatch
min-count: 100
metrics:
  - { name: error-rate, query: alb:error-rate, judge: { threshold: { max: 1% } } }
  - { name: average-latency, query: alb:average-latency, judge: { threshold: { max: 500ms } } }
`;

const healthy: SideTraffic = { requests: 200, errors: 0, latency: (i) => 0.1 + (i % 5) / 100 };

const job = (env: Record<string, string> = {}): Job => lab.job('4242', env);

function inputs(extra: Record<string, string> = {}): Record<string, string> {
  return {
    cluster: WORKLOAD.cluster,
    service: WORKLOAD.web,
    'container-name': WORKLOAD.web,
    image: IMAGES.webV2,
    'step-duration': '10s',
    analysis: ERROR_RATE,
    ...extra,
  };
}

/** Weights each ModifyListener / ModifyRule call asked for, as [target group name, weight] pairs. */
function requestedWeights(operation: 'ModifyListener' | 'ModifyRule'): Array<Array<[string, number]>> {
  const prefix = operation === 'ModifyListener' ? 'DefaultActions' : 'Actions';
  return (lab.proxy.requests(operation) as Array<Record<string, string>>).map((form) => {
    const pairs: Array<[string, number]> = [];
    for (let n = 1; form[`${prefix}.member.1.ForwardConfig.TargetGroups.member.${n}.TargetGroupArn`]; n++) {
      const arn = form[`${prefix}.member.1.ForwardConfig.TargetGroups.member.${n}.TargetGroupArn`] as string;
      pairs.push([
        /targetgroup\/([^/]+)\//.exec(arn)?.[1] as string,
        Number(form[`${prefix}.member.1.ForwardConfig.TargetGroups.member.${n}.Weight`]),
      ]);
    }
    return pairs;
  });
}

describe('ecs-deploy: task sets behind ALB weights', () => {
  it('runs a canary 10→50→100 on healthy metrics: each weight confirmed, the new task set primary at 100%, the old one deleted, a GitHub Deployment recorded', async () => {
    const traffic = lab.traffic(() => ({
      blue: healthy,
      green: healthy,
    }));
    const step = await job(lab.gh.env()).run('ecs-deploy', {
      inputs: inputs({ steps: '10,50,100', environment: 'production', 'github-token': lab.gh.token }),
    });
    await traffic.stop();

    expect(step.failure).toBeUndefined();
    expect(step.exitCode).toBe(0);
    expect(step.outputs).toMatchObject({
      status: 'succeeded',
      engine: 'ecs-task-set',
      'task-definition-arn': lab.workload.web.taskDefinitionArn.replace(/:1$/, ':2'),
      'previous-task-definition-arn': lab.workload.web.taskDefinitionArn,
      image: IMAGES.webV2,
    });
    // One ModifyListener per step, both target groups in each; promotion finds 100% already set.
    expect(requestedWeights('ModifyListener')).toEqual([
      [
        ['open-webui-blue', 90],
        ['open-webui-green', 10],
      ],
      [
        ['open-webui-blue', 50],
        ['open-webui-green', 50],
      ],
      [
        ['open-webui-blue', 0],
        ['open-webui-green', 100],
      ],
    ]);
    const report = JSON.parse(readFileSync(step.outputs['analysis-report'] as string, 'utf8'));
    expect(report.steps.map((s: { confirmed: { canary: number } }) => s.confirmed.canary)).toEqual([10, 50, 100]);
    expect(report.steps[0].analysis.verdict).toBe('pass');
    expect(report.taskDefinitionChanges).toEqual([`~ container[open-webui].image: ${IMAGES.webV1} → ${IMAGES.webV2}`]);

    expect(await lab.weights()).toEqual({
      'open-webui-blue': 0,
      'open-webui-green': 100,
    });
    const sets = await taskSetsOf(lab.clients.ecs, WORKLOAD.web);
    expect(sets.map((t) => [t.status, t.taskDefinition, t.loadBalancers?.[0]?.targetGroupArn, t.externalId])).toEqual([
      ['PRIMARY', step.outputs['task-definition-arn'], lab.workload.targetGroups.green, step.outputs['deployment-id']],
    ]);
    expect(await serviceTags(lab.clients.ecs, lab.workload.web.serviceArn)).not.toHaveProperty(
      'platform-actions:rollout',
    );
    expect(step.summary).toContain('### ✅ open-webui on platform (ECS): succeeded');
    expect(step.summary).toContain('| 2 | 50% | 50% / 50% |');

    const deployment = lab.gh.store
      .repo('acme', 'webapp')
      .deployments.get(Number(step.outputs['github-deployment-id']));
    expect(deployment?.environment).toBe('production');
    expect(deployment?.payload).toMatchObject({
      tool: 'platform-actions',
      image: IMAGES.webV2,
      digest: `sha256:${'a'.repeat(64)}`,
      service: WORKLOAD.web,
      platform: 'ecs',
      engine: 'ecs-task-set',
    });
    expect(deployment?.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);

    // The next rollout alternates: the stable task set is now in green, so blue takes the new one.
    const next = await job().run('ecs-deploy', {
      inputs: inputs({ image: IMAGES.webV1, analysis: 'none', 'step-duration': '0s', steps: '50,100' }),
    });
    expect(next.outputs.status).toBe('succeeded');
    expect(next.log).toContain('stable task set');
    expect(await lab.weights()).toEqual({
      'open-webui-blue': 100,
      'open-webui-green': 0,
    });
    expect((await taskSetsOf(lab.clients.ecs, WORKLOAD.web)).map((t) => t.loadBalancers?.[0]?.targetGroupArn)).toEqual([
      lab.workload.targetGroups.blue,
    ]);
  }, 90_000);

  it('refuses a tag-only image for a production environment before anything changes; allow-tag lets it through with a warning', async () => {
    const byTag = inputs({
      image: 'ghcr.io/open-webui/open-webui:main',
      analysis: 'none',
      'step-duration': '0s',
      steps: '100',
      environment: 'production',
      'github-token': lab.gh.token,
    });
    const step = await job(lab.gh.env()).run('ecs-deploy', { inputs: byTag });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain(
      `production is a production environment, and this step would deploy an image by tag only (container ${WORKLOAD.web}: ghcr.io/open-webui/open-webui:main)`,
    );
    expect(step.log).toContain('set allow-tag: true on this step');
    for (const op of ['RegisterTaskDefinition', 'CreateTaskSet', 'ModifyListener', 'ModifyRule', 'TagResource'])
      expect(lab.proxy.count(op)).toBe(0);
    expect(lab.gh.store.repo('acme', 'webapp').deployments.size).toBe(0);

    // Staging takes a tag (no refusal), and production takes it with allow-tag, said in a warning.
    const staging = await job().run('ecs-deploy', { inputs: { ...byTag, environment: '', 'github-token': '' } });
    expect(staging.failure).toBeUndefined();
    const allowed = await job(lab.gh.env()).run('ecs-deploy', {
      inputs: { ...byTag, image: 'ghcr.io/open-webui/open-webui:v0.6.6', 'allow-tag': 'true' },
    });
    expect(allowed.failure).toBeUndefined();
    expect(allowed.annotations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          level: 'warning',
          message: expect.stringContaining('allow-tag: deploying to production by tag'),
        }),
      ]),
    );
  }, 60_000);

  it('leaves a service that already runs the image alone, records that, and rolls it out again only with force', async () => {
    const same = inputs({
      image: IMAGES.webV1,
      analysis: 'none',
      'step-duration': '0s',
      steps: '100',
      environment: 'production',
      'github-token': lab.gh.token,
      'allow-tag': 'true',
    });
    const step = await job(lab.gh.env()).run('ecs-deploy', { inputs: same });

    expect(step.failure).toBeUndefined();
    expect(step.outputs).toMatchObject({
      status: 'succeeded',
      engine: 'ecs-task-set',
      'task-definition-arn': lab.workload.web.taskDefinitionArn,
      'deployment-id': '',
      'analysis-report': '',
    });
    expect(step.log).toContain(
      `Nothing to roll out: ${WORKLOAD.web} already runs ${lab.workload.web.taskDefinitionArn.split('/').pop()}, and the new revision would be the same. Set force: true to roll it out again.`,
    );
    for (const op of [
      'RegisterTaskDefinition',
      'CreateTaskSet',
      'ModifyListener',
      'ModifyRule',
      'TagResource',
      'DeleteTaskSet',
    ])
      expect(lab.proxy.count(op)).toBe(0);
    expect(step.summary).toContain(`✅ ${WORKLOAD.web} on platform (ECS): unchanged`);
    const recorded = lab.gh.store.repo('acme', 'webapp').deployments.get(Number(step.outputs['github-deployment-id']));
    expect(recorded?.payload).toMatchObject({ service: WORKLOAD.web, unchanged: true, image: IMAGES.webV1 });
    expect(recorded?.statuses.map((x) => x.state)).toEqual(['in_progress', 'success']);

    const forced = await job().run('ecs-deploy', {
      inputs: { ...same, environment: '', 'github-token': '', force: 'true' },
    });
    expect(forced.outputs.status).toBe('succeeded');
    expect(forced.outputs['task-definition-arn']).not.toBe(lab.workload.web.taskDefinitionArn);
    expect(lab.proxy.count('CreateTaskSet')).toBe(1);
    expect(await lab.weights()).toEqual({
      'open-webui-blue': 0,
      'open-webui-green': 100,
    });
  }, 60_000);

  it('rolls back at once when the canary target group’s 5xx rate is above 1%: 100% on stable in one call, canary deleted, evidence in the summary', async () => {
    const traffic = lab.traffic(() => ({
      blue: healthy,
      green: { ...healthy, errors: 10 },
    }));
    const step = await job().run('ecs-deploy', { inputs: inputs() });
    await traffic.stop();

    expect(step.exitCode).toBe(1);
    expect(step.outputs.status).toBe('rolled-back');
    expect(step.failure).toMatch(/^Step 1 \(10%\) analysis failed: A run failed: error-rate 5% > 1% \(\d+ requests\)/);
    expect(requestedWeights('ModifyListener')).toEqual([
      [
        ['open-webui-blue', 90],
        ['open-webui-green', 10],
      ],
      [
        ['open-webui-blue', 100],
        ['open-webui-green', 0],
      ],
    ]);
    expect(await lab.weights()).toEqual({
      'open-webui-blue': 100,
      'open-webui-green': 0,
    });
    expect((await taskSetsOf(lab.clients.ecs, WORKLOAD.web)).map((t) => [t.id, t.status])).toEqual([
      [lab.workload.web.taskSetId, 'PRIMARY'],
    ]);
    expect(lab.proxy.count('DeleteTaskSet')).toBe(1);
    expect(await serviceTags(lab.clients.ecs, lab.workload.web.serviceArn)).not.toHaveProperty(
      'platform-actions:rollout',
    );

    expect(step.summary).toContain('### ↩️ open-webui on platform (ECS): rolled-back');
    expect(step.summary).toContain('Time to restore');
    expect(step.summary).toContain('| error-rate | ❌ fail | 5% |');
    const report = JSON.parse(readFileSync(step.outputs['analysis-report'] as string, 'utf8'));
    expect(report.failure.trigger).toBe('analysis');
    expect(report.failure.recoverySeconds).toBeLessThan(10);
    expect(report.steps[0].analysis.runs[0].checks[0]).toMatchObject({
      name: 'error-rate',
      verdict: 'fail',
      canary: 0.05,
    });
  }, 60_000);

  it('fails a latency regression judged by Mann-Whitney against the baseline’s samples', async () => {
    const spec = `
interval: 10s
failure-limit: 1
metrics:
  - name: latency-vs-baseline
    provider: cloudwatch
    query: PlatformTest Latency Average {TargetGroup="{{targetGroup}}"}
    step: 10s
    unit: seconds
    judge: { mann-whitney: { confidence: 95%, min-samples: 4 } }
`;
    const slow: SideTraffic = { requests: 50, latency: (i) => 0.45 + (i % 7) / 100 };
    const traffic = lab.traffic(() => ({ blue: { ...healthy, requests: 50 }, green: slow }), {
      latencyNamespace: 'PlatformTest',
      tickMs: 1000,
    });
    // Samples before the shift count too (windows start at the minute); give both sides some.
    await new Promise((r) => setTimeout(r, 4000));
    const step = await job().run('ecs-deploy', { inputs: inputs({ analysis: spec, 'step-duration': '50s' }) });
    await traffic.stop();

    expect(step.outputs.status).toBe('rolled-back');
    const report = JSON.parse(readFileSync(step.outputs['analysis-report'] as string, 'utf8'));
    const check = report.steps[0].analysis.runs.at(-1).checks[0];
    expect(check).toMatchObject({ name: 'latency-vs-baseline', verdict: 'fail', judge: 'mann-whitney' });
    expect(check.pValue).toBeLessThan(0.05);
    expect(check.canary).toBeGreaterThan(0.4);
    expect(check.baseline).toBeLessThan(0.2);
    expect(await lab.weights()).toEqual({
      'open-webui-blue': 100,
      'open-webui-green': 0,
    });
  }, 90_000);

  it('calls too little traffic inconclusive, not a pass, and rolls back', async () => {
    const traffic = lab.traffic(() => ({
      blue: healthy,
      green: { requests: 2, errors: 0, latency: () => 0.05 },
    }));
    const step = await job().run('ecs-deploy', { inputs: inputs({ steps: '10,100' }) });
    await traffic.stop();

    expect(step.outputs.status).toBe('rolled-back');
    expect(step.failure).toMatch(
      /^Step 1 \(10%\) analysis was inconclusive: Inconclusive at the end of the bake: error-rate: too little traffic to judge \(canary \d+ requests; min-count 100\)/,
    );
    expect(requestedWeights('ModifyListener').at(-1)).toEqual([
      ['open-webui-blue', 100],
      ['open-webui-green', 0],
    ]);
    expect(await taskSetsOf(lab.clients.ecs, WORKLOAD.web)).toHaveLength(1);
  }, 60_000);

  it('retries throttling and 5xx during weight shifts on a listener rule, never leaving the forward half-shifted', async () => {
    const host = await lab.clients.elbv2.send(
      new CreateRuleCommand({
        ListenerArn: lab.workload.listenerArn,
        Priority: 5,
        Conditions: [{ Field: 'host-header', Values: ['chat.example.com'] }],
        Actions: [
          {
            Type: 'forward',
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: lab.workload.targetGroups.blue, Weight: 100 },
                { TargetGroupArn: lab.workload.targetGroups.green, Weight: 0 },
              ],
            },
          },
        ],
      }),
    );
    const ruleArn = host.Rules?.[0]?.RuleArn as string;
    lab.proxy.inject({ operation: 'ModifyRule', times: 2, status: 400, code: 'Throttling', message: 'Rate exceeded' });
    lab.proxy.inject({ operation: 'DescribeRules', times: 1, status: 503, code: 'ServiceUnavailable' });
    const running = job().start('ecs-deploy', {
      inputs: inputs({ steps: '25,100', 'listener-rule-arn': ruleArn, analysis: 'none' }),
    });
    await running.waitForLog(/Step 1\/2: 25%/);
    lab.proxy.inject({ operation: 'ModifyRule', times: 2, status: 500, code: 'InternalFailure' });
    const step = await running.done;

    expect(step.failure).toBeUndefined();
    expect(step.outputs.status).toBe('succeeded');
    const modify = lab.proxy.calls.filter((c) => c.operation === 'ModifyRule');
    expect(modify.map((c) => [c.status, c.injected])).toEqual([
      [400, true],
      [400, true],
      [200, false],
      [500, true],
      [500, true],
      [200, false],
    ]);
    // Every attempt, failed or not, set both target groups at once, summing to 100.
    const asked = requestedWeights('ModifyRule');
    expect(asked).toHaveLength(6);
    for (const pairs of asked) {
      expect(pairs.map(([name]) => name)).toEqual(['open-webui-blue', 'open-webui-green']);
      expect(pairs.reduce((sum, [, weight]) => sum + weight, 0)).toBe(100);
    }
    expect(await lab.weights(ruleArn)).toEqual({
      'open-webui-blue': 0,
      'open-webui-green': 100,
    });
    // The listener's default action was not touched.
    expect(lab.proxy.count('ModifyListener')).toBe(0);
    expect(await lab.weights()).toEqual({
      'open-webui-blue': 100,
      'open-webui-green': 0,
    });
  }, 60_000);

  it('switches blue-green in one change and keeps the old task set until the bake passes', async () => {
    const traffic = lab.traffic(() => ({ green: healthy }));
    const running = job().start('ecs-deploy', { inputs: inputs({ strategy: 'blue-green' }) });
    await running.waitForLog(/Judging 100% for 10s/);
    const during = await taskSetsOf(lab.clients.ecs, WORKLOAD.web);
    const step = await running.done;
    await traffic.stop();

    expect(step.outputs.status).toBe('succeeded');
    expect(during.map((t) => t.status).sort()).toEqual(['ACTIVE', 'PRIMARY']);
    expect(requestedWeights('ModifyListener')).toEqual([
      [
        ['open-webui-blue', 0],
        ['open-webui-green', 100],
      ],
    ]);
    expect(await taskSetsOf(lab.clients.ecs, WORKLOAD.web)).toHaveLength(1);
  }, 60_000);
});
