/**
 * ecs-deploy's smoke checks on task sets, the bundle run as the runner runs it, against
 * moto through the fault proxy. moto stores listener rules but serves no traffic, so a
 * loopback app plays the load balancer's data plane: for each request it reads the
 * listener's rules from moto, applies them as ALB does (rules by priority, header and path
 * conditions, then the default action's forward) and answers as the target group it
 * chose. The new task set's group (green) can be made to answer 500.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  CreateRuleCommand,
  DescribeListenersCommand,
  DescribeRulesCommand,
  type Rule,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { useEcsLab } from '../support/ecs-lab.js';
import { IMAGES, taskSetsOf, WORKLOAD, type SideTraffic } from '../support/ecs-workload.js';
import { type Job } from '../support/runner.js';

const lab = useEcsLab();
let alb: Server;
let albUrl: string;
/** What green (the new task set's target group) answers. */
let greenStatus = 200;
/** Each request the stand-in load balancer served: target group name, path, smoke header. */
const served: Array<{ group: string; path: string; header: string | undefined }> = [];

const tgName = (arn: string) => /targetgroup\/([^/]+)\//.exec(arn)?.[1] ?? arn;

function matches(rule: Rule, req: IncomingMessage): boolean {
  return (rule.Conditions ?? []).every((c) => {
    if (c.Field === 'http-header') {
      const value = req.headers[(c.HttpHeaderConfig?.HttpHeaderName ?? '').toLowerCase()];
      return typeof value === 'string' && (c.HttpHeaderConfig?.Values ?? []).includes(value);
    }
    if (c.Field === 'path-pattern') {
      const patterns = c.PathPatternConfig?.Values ?? c.Values ?? [];
      return patterns.some((p) =>
        new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(
          (req.url ?? '/').split('?')[0] as string,
        ),
      );
    }
    return false;
  });
}

/** The target group ALB would send this request to: the highest weight of the chosen forward. */
async function route(req: IncomingMessage): Promise<string> {
  const rules = (
    (await lab.clients.elbv2.send(new DescribeRulesCommand({ ListenerArn: lab.workload.listenerArn }))).Rules ?? []
  )
    .filter((r) => !r.IsDefault)
    .sort((a, b) => Number(a.Priority) - Number(b.Priority));
  const rule = rules.find((r) => matches(r, req));
  const actions =
    rule?.Actions ??
    (await lab.clients.elbv2.send(new DescribeListenersCommand({ ListenerArns: [lab.workload.listenerArn] })))
      .Listeners?.[0]?.DefaultActions ??
    [];
  const forward = actions.find((a) => a.Type === 'forward');
  const groups = forward?.ForwardConfig?.TargetGroups?.length
    ? forward.ForwardConfig.TargetGroups
    : [{ TargetGroupArn: forward?.TargetGroupArn, Weight: 1 }];
  const top = [...groups].sort((a, b) => (b.Weight ?? 0) - (a.Weight ?? 0))[0];
  return tgName(top?.TargetGroupArn ?? 'none');
}

const SPEC = (extra = '') => `
interval: 10s
failure-limit: 1
provider: cloudwatch
min-count: 100
metrics:
  - { name: error-rate, query: alb:error-rate, judge: { threshold: { max: 1% } } }
smoke:
  retries: 1
  retry-delay: 100ms
  checks:
    - { name: health, path: /health, json: { path: $.status, equals: ok } }
${extra}`;

const healthy: SideTraffic = { requests: 200, errors: 0, latency: () => 0.05 };

const job = (): Job => lab.job();

const inputs = (extra: Record<string, string> = {}) => ({
  cluster: WORKLOAD.cluster,
  service: WORKLOAD.web,
  'container-name': WORKLOAD.web,
  image: IMAGES.webV2,
  steps: '50,100',
  'step-duration': '10s',
  analysis: SPEC(),
  'smoke-url': albUrl,
  ...extra,
});

/** Every call that changes the listener or its rules, in order. */
const listenerChanges = () =>
  lab.proxy.calls
    .map((c) => c.operation)
    .filter((op) => ['ModifyListener', 'ModifyRule', 'CreateRule', 'DeleteRule'].includes(op));

beforeAll(async () => {
  alb = createServer((req, res) => {
    void route(req).then(
      (group) => {
        served.push({
          group,
          path: req.url ?? '',
          header: req.headers['x-platform-actions-smoke'] as string | undefined,
        });
        const status = group === 'open-webui-green' ? greenStatus : 200;
        res
          .writeHead(status, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: status === 200 ? 'ok' : 'error', group }));
      },
      (err: unknown) => res.writeHead(502).end(String(err)),
    );
  });
  await new Promise<void>((r) => alb.listen(0, '127.0.0.1', r));
  albUrl = `http://127.0.0.1:${(alb.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => alb.close(r));
});
beforeEach(() => {
  served.length = 0;
});

describe('ecs-deploy: smoke checks on the new task set before the first weight', () => {
  it('removes a new task set that fails its smoke checks: the listener weights are never changed, the smoke rule is gone', async () => {
    greenStatus = 500;
    const step = await job().run('ecs-deploy', { inputs: inputs() });

    expect(step.outputs.status).toBe('rolled-back');
    expect(step.failure).toContain('smoke checks failed on the new side: health (HTTP 500, expected 200');
    expect(step.failure).toContain('It never had production traffic.');
    // Only the smoke rule came and went: no weight was ever asked for.
    expect(listenerChanges()).toEqual(['CreateRule', 'DeleteRule']);
    expect(lab.proxy.count('ModifyListener') + lab.proxy.count('ModifyRule')).toBe(0);
    const rule = lab.proxy.requests('CreateRule')[0] as Record<string, string>;
    expect(rule).toMatchObject({
      'Conditions.member.1.Field': 'http-header',
      'Conditions.member.1.HttpHeaderConfig.HttpHeaderName': 'x-platform-actions-smoke',
      'Conditions.member.1.HttpHeaderConfig.Values.member.1': step.outputs['deployment-id'],
      'Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn': lab.workload.targetGroups.green,
    });
    // Every smoke request reached the new task set's group, and only those (the stable one was never asked).
    expect(served).toEqual([
      { group: 'open-webui-green', path: '/health', header: step.outputs['deployment-id'] },
      { group: 'open-webui-green', path: '/health', header: step.outputs['deployment-id'] },
    ]);
    expect(await lab.weights()).toEqual({
      'open-webui-blue': 100,
      'open-webui-green': 0,
    });
    const rules =
      (await lab.clients.elbv2.send(new DescribeRulesCommand({ ListenerArn: lab.workload.listenerArn }))).Rules ?? [];
    expect(rules.filter((r) => !r.IsDefault).map((r) => r.RuleArn)).toEqual([lab.workload.gatewayRuleArn]);
    expect((await taskSetsOf(lab.clients.ecs, WORKLOAD.web)).map((t) => [t.status, t.id])).toEqual([
      ['PRIMARY', lab.workload.web.taskSetId],
    ]);
  }, 90_000);

  it('lets a new task set that passes go on: the smoke rule is deleted before the first weight moves', async () => {
    greenStatus = 200;
    const traffic = lab.traffic(() => ({
      blue: healthy,
      green: healthy,
    }));
    const step = await job().run('ecs-deploy', { inputs: inputs() });
    await traffic.stop();

    expect(step.failure).toBeUndefined();
    expect(step.outputs.status).toBe('succeeded');
    expect(step.log).toContain('smoke health: passed');
    expect(listenerChanges()).toEqual(['CreateRule', 'DeleteRule', 'ModifyListener', 'ModifyListener']);
    expect(served).toEqual([{ group: 'open-webui-green', path: '/health', header: step.outputs['deployment-id'] }]);
    expect(await lab.weights()).toEqual({
      'open-webui-blue': 0,
      'open-webui-green': 100,
    });
  }, 90_000);

  it('is not misled by a smoke rule a dead job left, and the rollback removes it', async () => {
    // A job killed during its smoke checks, when blue held the new side: its rule forwards to blue.
    await lab.clients.elbv2.send(
      new CreateRuleCommand({
        ListenerArn: lab.workload.listenerArn,
        Priority: 1,
        Conditions: [
          {
            Field: 'http-header',
            HttpHeaderConfig: { HttpHeaderName: 'x-platform-actions-smoke', Values: ['1111.1-dead'] },
          },
        ],
        Actions: [
          {
            Type: 'forward',
            ForwardConfig: { TargetGroups: [{ TargetGroupArn: lab.workload.targetGroups.blue, Weight: 1 }] },
          },
        ],
      }),
    );
    greenStatus = 500;
    const step = await job().run('ecs-deploy', { inputs: inputs() });

    // The route is still found as the listener (the leftover rule is no route), the new task set fails and goes.
    expect(step.outputs.status).toBe('rolled-back');
    expect(step.failure).toContain('smoke checks failed on the new side');
    expect(lab.proxy.count('ModifyListener') + lab.proxy.count('ModifyRule')).toBe(0);
    expect(step.log).toContain('Smoke rule at priority 2');
    const rules =
      (await lab.clients.elbv2.send(new DescribeRulesCommand({ ListenerArn: lab.workload.listenerArn }))).Rules ?? [];
    expect(rules.filter((r) => !r.IsDefault).map((r) => r.RuleArn)).toEqual([lab.workload.gatewayRuleArn]);
  }, 90_000);

  it('refuses smoke checks on a rolling service before changing anything', async () => {
    const step = await job().run('ecs-deploy', {
      inputs: {
        ...inputs(),
        service: WORKLOAD.gateway,
        'container-name': WORKLOAD.gateway,
        image: IMAGES.gatewayV2,
        steps: '',
      },
    });

    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain(
      'ecs-deploy runs smoke checks before the first weight only for task sets (EXTERNAL controller)',
    );
    for (const op of ['RegisterTaskDefinition', 'UpdateService', 'CreateRule']) expect(lab.proxy.count(op)).toBe(0);
  }, 30_000);
});
