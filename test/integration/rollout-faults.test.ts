/**
 * The fault model on ECS task sets, through the bundles, against moto behind the
 * fault-injecting proxy: a restore under 30 s of throttling, the rollback action taking
 * over a live rollout, a hand edit of the weights, and a second run finding a rollout
 * that is still being driven. The listener is sampled straight from moto (not through the
 * proxy) every 100 ms while each case runs, so a half-shifted forward would be seen.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { ModifyListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { useEcsLab } from '../support/ecs-lab.js';
import { IMAGES, serviceTags, taskSetsOf, WORKLOAD, type SideTraffic } from '../support/ecs-workload.js';
import { type Job } from '../support/runner.js';

const lab = useEcsLab();
const stops: Array<() => Promise<void>> = [];

const SPEC = `
interval: 10s
failure-limit: 1
provider: cloudwatch
min-count: 100
metrics:
  - { name: error-rate, query: alb:error-rate, judge: { threshold: { max: 1% } } }
`;
const healthy: SideTraffic = { requests: 200, errors: 0, latency: () => 0.1 };

const job = (runId = '4242', env: Record<string, string> = {}): Job => lab.job(runId, env);

function deployInputs(extra: Record<string, string> = {}): Record<string, string> {
  return {
    cluster: WORKLOAD.cluster,
    service: WORKLOAD.web,
    'container-name': WORKLOAD.web,
    image: IMAGES.webV2,
    'step-duration': '10s',
    analysis: SPEC,
    ...extra,
  };
}

/** Samples the listener's forward from moto every 100 ms until stopped: every split it ever showed. */
function watchListener(arn: string) {
  const seen: Array<{ at: number; blue: number; green: number }> = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      let p: Record<string, number>;
      try {
        p = await lab.weights(arn);
      } catch {
        return; // moto was reset under a test that already failed
      }
      const last = seen.at(-1);
      if (!last || last.blue !== p['open-webui-blue'] || last.green !== p['open-webui-green'])
        seen.push({ at: Date.now(), blue: p['open-webui-blue'] ?? 0, green: p['open-webui-green'] ?? 0 });
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const stop = async () => {
    running = false;
    await loop;
    return seen;
  };
  stops.push(async () => void (await stop()));
  return { seen, stop };
}

/** Weights each ModifyListener call through the proxy asked for, as [blue, green]. */
function modifyListenerWeights(): Array<[number, number]> {
  return (lab.proxy.requests('ModifyListener') as Array<Record<string, string>>).map((form) => {
    const out: Record<string, number> = {};
    for (let n = 1; form[`DefaultActions.member.1.ForwardConfig.TargetGroups.member.${n}.TargetGroupArn`]; n++) {
      const name = /targetgroup\/([^/]+)\//.exec(
        form[`DefaultActions.member.1.ForwardConfig.TargetGroups.member.${n}.TargetGroupArn`] as string,
      )?.[1] as string;
      out[name] = Number(form[`DefaultActions.member.1.ForwardConfig.TargetGroups.member.${n}.Weight`]);
    }
    return [out['open-webui-blue'] ?? 0, out['open-webui-green'] ?? 0];
  });
}

afterEach(async () => {
  while (stops.length) await stops.pop()?.();
});

describe('rollouts under faults (ECS task sets)', () => {
  it('restores stable through 30 s of throttling on every traffic call: retried until confirmed, never half-shifted', async () => {
    lab.traffic(() => ({
      blue: healthy,
      green: { ...healthy, errors: 20 },
    }));
    const listener = watchListener(lab.workload.listenerArn);
    const running = job().start('ecs-deploy', { inputs: deployInputs({ steps: '10,50,100' }) });
    await running.waitForLog(/Step 1\/3: 10%/);
    // From just after the first shift: every read and write of the listener refused for 30 s.
    const throttledFrom = Date.now();
    lab.proxy.injectFor({
      operations: ['ModifyListener', 'DescribeListeners'],
      durationMs: 30_000,
      status: 400,
      code: 'Throttling',
      message: 'Rate exceeded',
    });
    await running.waitForLog(/analysis failed/);
    const detected = Date.now();
    const step = await running.done;
    const seen = await listener.stop();

    expect(step.outputs.status).toBe('rolled-back');
    expect(step.failure).toMatch(/^Step 1 \(10%\) analysis failed/);
    // The restore kept trying through the throttling (SDK retries, then ours) and landed after it.
    const throttled = lab.proxy.calls.filter(
      (c) => (c.operation === 'ModifyListener' || c.operation === 'DescribeListeners') && c.injected && c.at > detected,
    );
    expect(throttled.length).toBeGreaterThan(3);
    expect(step.log).toMatch(/returning all traffic to ecs-svc\/\S+ failed \(attempt 1: .*Rate exceeded/);
    const restored = seen.find((s) => s.at > detected && s.green === 0);
    expect(restored).toBeDefined();
    expect(restored!.at).toBeGreaterThanOrEqual(throttledFrom + 30_000);
    // Never anything but stable, 90/10, and stable again: no half-shifted forward at any sample.
    expect(seen.map((s) => [s.blue, s.green])).toEqual([
      [100, 0],
      [90, 10],
      [100, 0],
    ]);
    for (const [blue, green] of modifyListenerWeights()) expect(blue + green).toBe(100);
    expect(await lab.weights()).toEqual({
      'open-webui-blue': 100,
      'open-webui-green': 0,
    });
    expect(await taskSetsOf(lab.clients.ecs, WORKLOAD.web)).toHaveLength(1);
    expect(await serviceTags(lab.clients.ecs, lab.workload.web.serviceArn)).not.toHaveProperty(
      'platform-actions:rollout',
    );
    // How soon after the throttling it lands is a benchmark (npm run bench -- rollout-faults), not asserted here.
  }, 120_000);

  it('lets the rollback action take over a live canary: stable at once, the deploy yields within one interval and never shifts again', async () => {
    lab.traffic(() => ({
      blue: healthy,
      green: healthy,
    }));
    const listener = watchListener(lab.workload.listenerArn);
    const deploy = job('4242').start('ecs-deploy', { inputs: deployInputs({ steps: '10:60s,50,100' }) });
    await deploy.waitForLog(/Judging 10% for 1m/);

    const rollback = await job('5555').run('rollback', {
      inputs: { cluster: WORKLOAD.cluster, service: WORKLOAD.web, reason: 'paged: checkout errors' },
    });
    const rolledBackAt = Date.now();
    expect(rollback.failure).toBeUndefined();
    expect(rollback.outputs.status).toBe('rolled-back');
    expect(rollback.log).toContain('Asked rollout 4242.1-');

    const step = await deploy.done;
    const yieldedAt = Date.now();
    const seen = await listener.stop();
    expect(step.outputs.status).toBe('rolled-back');
    expect(step.failure).toContain(
      'without touching traffic: Aborted by the rollback action in run 5555.1 started by octocat',
    );
    // Long before its 60 s bake would have ended (within one 10 s interval when the machine is not loaded: see the bench).
    expect(yieldedAt - rolledBackAt).toBeLessThan(40_000);
    // The deploy shifted once (10%); the rollback put 100% back; nothing moved traffic after that.
    expect(modifyListenerWeights()).toEqual([
      [90, 10],
      [100, 0],
    ]);
    expect(seen.map((s) => [s.blue, s.green])).toEqual([
      [100, 0],
      [90, 10],
      [100, 0],
    ]);
    const sets = await taskSetsOf(lab.clients.ecs, WORKLOAD.web);
    expect(sets.map((t) => [t.id, t.status])).toEqual([[lab.workload.web.taskSetId, 'PRIMARY']]);
    expect(await serviceTags(lab.clients.ecs, lab.workload.web.serviceArn)).not.toHaveProperty(
      'platform-actions:rollout',
    );

    // The post step of the yielded deploy leaves the service alone.
    const before = lab.proxy.count('ModifyListener');
    const post = await job('4242').post(step);
    expect(post.exitCode).toBe(0);
    expect(lab.proxy.count('ModifyListener')).toBe(before);
  }, 120_000);

  it('stops when someone edits the weights by hand, without overwriting them, and holds the record', async () => {
    lab.traffic(() => ({
      blue: healthy,
      green: healthy,
    }));
    const deploy = job().start('ecs-deploy', { inputs: deployInputs({ steps: '10:40s,50,100' }) });
    await deploy.waitForLog(/Judging 10% for 40s/);
    // An operator moves everything back to blue in the console (straight to moto: not one of ours).
    await lab.clients.elbv2.send(
      new ModifyListenerCommand({
        ListenerArn: lab.workload.listenerArn,
        DefaultActions: [
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
    const edited = Date.now();
    const step = await deploy.done;

    expect(step.outputs.status).toBe('failed');
    expect(step.failure).toContain(
      'Traffic was changed outside this rollout: it set 10% on the new version, and 0% is there now',
    );
    // Before its 40 s bake would have ended.
    expect(Date.now() - edited).toBeLessThan(30_000);
    expect(modifyListenerWeights()).toEqual([[90, 10]]);
    expect(await lab.weights()).toEqual({
      'open-webui-blue': 100,
      'open-webui-green': 0,
    });
    expect((await serviceTags(lab.clients.ecs, lab.workload.web.serviceArn))['platform-actions:rollout']).toMatch(
      / p=held /,
    );

    // Held: the post step does not move traffic the operator just set.
    const post = await job().post(step);
    expect(post.exitCode).toBe(0);
    expect(lab.proxy.count('ModifyListener')).toBe(1);
  }, 90_000);

  it('refuses a second run while the first still drives the rollout, changing nothing', async () => {
    lab.traffic(() => ({
      blue: healthy,
      green: healthy,
    }));
    const first = job('4242').start('ecs-deploy', { inputs: deployInputs({ steps: '10:30s,100' }) });
    await first.waitForLog(/Judging 10% for 30s/);
    const mutating = [
      'RegisterTaskDefinition',
      'CreateTaskSet',
      'ModifyListener',
      'DeleteTaskSet',
      'UpdateServicePrimaryTaskSet',
    ];
    const before = Object.fromEntries(mutating.map((op) => [op, lab.proxy.count(op)]));

    const second = await job('6666').run('ecs-deploy', {
      inputs: deployInputs({ image: IMAGES.webV1, analysis: 'none', steps: '100' }),
    });
    expect(second.exitCode).toBe(1);
    expect(second.failure).toMatch(
      /is in the middle of rollout 4242\.1-\S+ .*its owner is still driving it \(its lease runs for another/,
    );
    expect(second.failure).toContain('stop it with the rollback action');
    for (const op of mutating) expect(lab.proxy.count(op)).toBe(before[op]);

    const done = await first.done;
    expect(done.outputs.status).toBe('succeeded');
  }, 90_000);
});
