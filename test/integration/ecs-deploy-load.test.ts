/**
 * ecs-deploy's synthetic load (`load:` in the analysis spec) on task sets, the bundle run as
 * the runner runs it, against moto through the fault proxy. moto keeps listener rules but
 * carries no requests, so a loopback server stands for the load balancer's data plane: it
 * reads the listener's live rules from moto for every request, picks the rule ALB would
 * (priority order; header and path conditions; else the default action) and answers as
 * the target group that rule forwards to, recording which group got what.
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
import { startAwsProxy, type AwsProxy } from '../support/aws-proxy.js';
import {
  IMAGES,
  seedWorkload,
  startAlbTraffic,
  workloadClients,
  WORKLOAD,
  type SideTraffic,
  type Workload,
} from '../support/ecs-workload.js';
import { motoEndpoint, resetMoto } from '../support/moto.js';
import { Job } from '../support/runner.js';

const HEADER = 'x-platform-actions-smoke';
const moto = motoEndpoint();
const clients = workloadClients(moto);
let proxy: AwsProxy;
let w: Workload;
let alb: Server;
let albUrl: string;
/** Every request the stand-in load balancer answered: the group it chose and the header it carried. */
const served: Array<{ group: string; header: string | undefined }> = [];

const groupName = (arn: string | undefined) => /targetgroup\/([^/]+)\//.exec(arn ?? '')?.[1] ?? 'none';

function conditionHolds(rule: Rule, req: IncomingMessage): boolean {
  return (rule.Conditions ?? []).every((c) => {
    if (c.Field === 'http-header') {
      const got = req.headers[(c.HttpHeaderConfig?.HttpHeaderName ?? '').toLowerCase()];
      return typeof got === 'string' && (c.HttpHeaderConfig?.Values ?? []).includes(got);
    }
    if (c.Field === 'path-pattern') {
      const path = (req.url ?? '/').split('?')[0] as string;
      return (c.PathPatternConfig?.Values ?? c.Values ?? []).some((p) =>
        path.startsWith(p.endsWith('*') ? p.slice(0, -1) : p),
      );
    }
    return false;
  });
}

/** The group ALB sends this request to (the heaviest of a weighted forward). */
async function groupFor(req: IncomingMessage): Promise<string> {
  const rules = ((await clients.elbv2.send(new DescribeRulesCommand({ ListenerArn: w.listenerArn }))).Rules ?? [])
    .filter((r) => !r.IsDefault)
    .sort((a, b) => Number(a.Priority) - Number(b.Priority));
  const actions =
    rules.find((r) => conditionHolds(r, req))?.Actions ??
    (await clients.elbv2.send(new DescribeListenersCommand({ ListenerArns: [w.listenerArn] }))).Listeners?.[0]
      ?.DefaultActions ??
    [];
  const forward = actions.find((a) => a.Type === 'forward');
  const groups = forward?.ForwardConfig?.TargetGroups ?? [{ TargetGroupArn: forward?.TargetGroupArn, Weight: 1 }];
  return groupName([...groups].sort((a, b) => (b.Weight ?? 0) - (a.Weight ?? 0))[0]?.TargetGroupArn);
}

const SPEC = `
interval: 10s
failure-limit: 1
provider: cloudwatch
min-count: 100
metrics:
  - { name: error-rate, query: alb:error-rate, judge: { threshold: { max: 1% } } }
load: { rps: 5, max-concurrency: 2, paths: [/health] }
`;

const healthy: SideTraffic = { requests: 200, errors: 0, latency: () => 0.05 };
const broken: SideTraffic = { requests: 200, errors: 60, latency: () => 0.05 };

function job(): Job {
  return new Job({
    AWS_ENDPOINT_URL: proxy.url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: WORKLOAD.region,
  });
}

const inputs = (spec: string = SPEC) => ({
  cluster: WORKLOAD.cluster,
  service: WORKLOAD.web,
  'container-name': WORKLOAD.web,
  image: IMAGES.webV2,
  steps: '25,50,100', // two bakes (the last step, 100%, is the promotion)
  'step-duration': '10s',
  // The runner reaches the load balancer through the stand-in's loopback address.
  analysis: spec.replace('paths: [/health]', `paths: [/health], url: ${albUrl}`),
});

const ruleArns = async () =>
  ((await clients.elbv2.send(new DescribeRulesCommand({ ListenerArn: w.listenerArn }))).Rules ?? [])
    .filter((r) => !r.IsDefault)
    .map((r) => r.RuleArn);

/** The per-side numbers of every "Synthetic load during this bake" line of the summary, summed. */
function summaryCounts(summary: string): { canary: number; stable: number; bakes: number } {
  const lines = [
    ...summary.matchAll(/Synthetic load during this bake: canary (\d+) requests .*?, stable (\d+) requests/g),
  ];
  return {
    canary: lines.reduce((n, m) => n + Number(m[1]), 0),
    stable: lines.reduce((n, m) => n + Number(m[2]), 0),
    bakes: lines.length,
  };
}

beforeAll(async () => {
  proxy = await startAwsProxy(moto);
  alb = createServer((req, res) => {
    void groupFor(req).then(
      (group) => {
        served.push({ group, header: req.headers[HEADER] as string | undefined });
        res.writeHead(200, { 'content-type': 'text/plain' }).end(group);
      },
      (err: unknown) => res.writeHead(502).end(String(err)),
    );
  });
  await new Promise<void>((r) => alb.listen(0, '127.0.0.1', r));
  albUrl = `http://127.0.0.1:${(alb.address() as AddressInfo).port}`;
});
afterAll(async () => {
  clients.destroy();
  await proxy.close();
  alb.closeAllConnections();
  await new Promise((r) => alb.close(r));
});
beforeEach(async () => {
  await resetMoto(moto);
  w = await seedWorkload(moto);
  proxy.reset();
  served.length = 0;
});

describe('ecs-deploy: synthetic load to each task set during the bakes', () => {
  it('sends the load to the new and the stable task set apart, deletes the rules after each bake, and counts it in the summary', async () => {
    const traffic = startAlbTraffic(clients.cloudwatch, w.loadBalancerArn, () => ({
      [w.targetGroups.blue]: healthy,
      [w.targetGroups.green]: healthy,
    }));
    const step = await job().run('ecs-deploy', { inputs: inputs() });
    await traffic.stop();

    expect(step.failure).toBeUndefined();
    expect(step.outputs.status).toBe('succeeded');
    const id = step.outputs['deployment-id'] as string;
    const toNew = served.filter((s) => s.header === `load-new-${id}`);
    const toStable = served.filter((s) => s.header === `load-stable-${id}`);
    // Each side's load reached that side only, and both got the same rate.
    expect(new Set(toNew.map((s) => s.group))).toEqual(new Set(['open-webui-green']));
    expect(new Set(toStable.map((s) => s.group))).toEqual(new Set(['open-webui-blue']));
    // 5 rps for two 10 s bakes at most; fewer when the stand-in (two moto calls a request) is slow
    // and max-concurrency makes the generator skip.
    expect(toNew.length).toBeGreaterThan(10);
    expect(toNew.length).toBeLessThanOrEqual(2 * (5 * 10 + 1));
    expect(Math.abs(toNew.length - toStable.length)).toBeLessThanOrEqual(4);
    expect(served.length).toBe(toNew.length + toStable.length);

    // Two rules per bake, none left: after the promotion only the gateway's rule is there.
    expect(proxy.count('CreateRule')).toBe(4);
    expect(proxy.count('DeleteRule')).toBe(4);
    expect(await ruleArns()).toEqual([w.gatewayRuleArn]);

    // The summary says, bake by bake, what was synthetic; it adds up to what the "load balancer" served,
    // but for requests still in flight when a bake ended (dropped; at most max-concurrency per side and bake).
    const counted = summaryCounts(step.summary);
    expect(counted.bakes).toBe(2);
    for (const [sent, got] of [
      [counted.canary, toNew.length],
      [counted.stable, toStable.length],
    ] as const) {
      expect(sent).toBeGreaterThanOrEqual(got);
      expect(sent - got).toBeLessThanOrEqual(2 * 2);
    }
    expect(step.summary).toContain('the judged request counts include them');
    expect(step.log).toMatch(/Load rule at priority 1: requests with x-platform-actions-smoke: load-new-/);
  }, 120_000);

  it('rolls back a failing canary with no load rule left, also one a dead job left behind', async () => {
    // A job killed during a bake, when blue held the new side: its rule forwards to blue.
    await clients.elbv2.send(
      new CreateRuleCommand({
        ListenerArn: w.listenerArn,
        Priority: 1,
        Conditions: [
          { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: HEADER, Values: ['load-new-1111.1-dead'] } },
        ],
        Actions: [
          { Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: w.targetGroups.blue, Weight: 1 }] } },
        ],
      }),
    );
    const traffic = startAlbTraffic(clients.cloudwatch, w.loadBalancerArn, () => ({
      [w.targetGroups.blue]: healthy,
      [w.targetGroups.green]: broken,
    }));
    const step = await job().run('ecs-deploy', { inputs: inputs() });
    await traffic.stop();

    expect(step.outputs.status).toBe('rolled-back');
    const id = step.outputs['deployment-id'] as string;
    // The leftover rule was not taken for the route: the weights went to the listener, and the load still split.
    expect(proxy.count('ModifyListener')).toBeGreaterThan(0);
    expect(new Set(served.filter((s) => s.header === `load-new-${id}`).map((s) => s.group))).toEqual(
      new Set(['open-webui-green']),
    );
    expect(served.filter((s) => s.header === `load-stable-${id}`).length).toBeGreaterThan(0);
    expect(await ruleArns()).toEqual([w.gatewayRuleArn]);
    expect(summaryCounts(step.summary).bakes).toBe(1);
  }, 120_000);

  it('stops the load at once when the job is cancelled during a bake, and leaves no rule', async () => {
    const traffic = startAlbTraffic(clients.cloudwatch, w.loadBalancerArn, () => ({
      [w.targetGroups.blue]: healthy,
      [w.targetGroups.green]: healthy,
    }));
    const running = job().start('ecs-deploy', { inputs: inputs() });
    const deadline = Date.now() + 60_000;
    while (!served.some((s) => s.header?.startsWith('load-new-')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    expect(served.some((s) => s.header?.startsWith('load-new-'))).toBe(true);
    running.kill('SIGINT'); // the runner's cancel
    const step = await running.done;
    await traffic.stop();

    expect(step.outputs.status).toBe('rolled-back');
    const seen = served.length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(served.length).toBe(seen); // nothing more after the job
    expect(await ruleArns()).toEqual([w.gatewayRuleArn]);
  }, 120_000);

  it('refuses load on a rolling service before changing anything', async () => {
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
      `The analysis spec has load:, but service ${WORKLOAD.gateway} runs rolling updates: nothing reaches the new version or stable alone`,
    );
    expect(step.failure).toContain('Nothing was changed.');
    for (const op of ['RegisterTaskDefinition', 'UpdateService', 'CreateRule']) expect(proxy.count(op)).toBe(0);
  }, 30_000);
});
