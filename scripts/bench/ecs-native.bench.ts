/**
 * The native-strategy engine and the rollback action on moto with the native stand-in in
 * front (the built bundles, run as the runner runs them): how long from an injected SLO
 * breach on a native canary to 100% of production traffic back on the old target group;
 * the AWS API calls of each phase of a native canary; and how long the rollback action takes
 * to undo a task-set rollout killed at 50%.
 *
 * The stand-in's ECS takes 100 ms per lifecycle stage: real ECS takes longer to start tasks
 * and to act on StopServiceDeployment, so these figures are ecs-deploy's share of the time.
 */
import { startEcsNativeServer } from '../../test/support/ecs-native-server.js';
import { MCP, PAUSE_HOOKS, seedNativeService } from '../../test/support/ecs-native-workload.js';
import {
  forwardPercentages,
  IMAGES,
  seedWorkload,
  startAlbTraffic,
  workloadClients,
  WORKLOAD,
  type SideTraffic,
} from '../../test/support/ecs-workload.js';
import { startMoto } from '../../test/support/global-setup.js';
import { Job } from '../../test/support/runner.js';
import { median, printTable } from './lib.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const RUNS = Number(process.env.BENCH_RUNS_ECS ?? 3);

const moto = await startMoto({ MOTO_ECS_SERVICE_RUNNING: '2' });
const server = await startEcsNativeServer(moto.endpoint, { stageMs: 100, minuteMs: 1000 });
const clients = workloadClients(moto.endpoint);

const spec = (failureLimit: number) => `
interval: 10s
failure-limit: ${failureLimit}
provider: cloudwatch
metrics:
  - { name: error-rate, query: alb:error-rate, min-count: 10, judge: { threshold: { max: 1% } } }
`;
const healthy: SideTraffic = { requests: 200, errors: 0 };
const job = (runId = '4242') =>
  new Job({
    AWS_ENDPOINT_URL: server.url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: WORKLOAD.region,
    GITHUB_RUN_ID: runId,
  });

async function reset() {
  await fetch(`${moto.endpoint}/moto-api/reset`, { method: 'POST' });
  server.reset();
  const w = await seedWorkload(server.url);
  const native = await seedNativeService(server.url, w, {
    strategy: 'CANARY',
    canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: 0 },
    bakeTimeInMinutes: 0,
    lifecycleHooks: PAUSE_HOOKS,
  });
  // Forget the seeding calls only; the stand-in keeps the native service it now knows.
  server.calls.length = 0;
  return { w, native };
}

async function until100(ruleArn: string, tg: string): Promise<void> {
  for (;;) {
    if ((await forwardPercentages(clients.elbv2, ruleArn))[tg] === 100) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

// --- SLO breach → all production traffic back on the old revision ----------------------
const recoveryRows: string[][] = [];
for (const failureLimit of [1, 2]) {
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const { w, native } = await reset();
    let breach = false;
    const traffic = startAlbTraffic(
      clients.cloudwatch,
      w.loadBalancerArn,
      () => ({
        [native.targetGroups.blue]: healthy,
        [native.targetGroups.green]: breach ? { ...healthy, errors: 20 } : healthy,
      }),
      { tickMs: 1000 },
    );
    const running = job().start('ecs-deploy', {
      inputs: {
        cluster: WORKLOAD.cluster,
        service: MCP.service,
        image: MCP.imageV2,
        'step-duration': '5m',
        analysis: spec(failureLimit),
      },
    });
    await running.waitForLog(/^Step 1\/2: 10%/);
    await new Promise((r) => setTimeout(r, 1000 + i * 4000));
    breach = true;
    const injectedAt = performance.now();
    await until100(native.ruleArn, native.targetGroups.blue);
    samples.push(performance.now() - injectedAt);
    const step = await running.done;
    await traffic.stop();
    if (step.outputs.status !== 'rolled-back')
      throw new Error(`expected a rollback, got ${step.outputs.status}:\n${step.log}`);
  }
  recoveryRows.push([
    String(failureLimit),
    `${(median(samples) / 1000).toFixed(1)} s`,
    `${(Math.max(...samples) / 1000).toFixed(1)} s`,
  ]);
}
printTable(
  `Native canary: SLO breach → 100% on the old target group (interval 10 s, ${RUNS} runs, breach 1–${1 + (RUNS - 1) * 4} s into the 10% bake)`,
  ['failure-limit', 'median', 'worst'],
  recoveryRows,
);

// --- API calls per phase of a native canary --------------------------------------------
{
  const { w, native } = await reset();
  const traffic = startAlbTraffic(
    clients.cloudwatch,
    w.loadBalancerArn,
    () => ({ [native.targetGroups.blue]: healthy, [native.targetGroups.green]: healthy }),
    { tickMs: 1000 },
  );
  const started = performance.now();
  const running = job().start('ecs-deploy', {
    inputs: {
      cluster: WORKLOAD.cluster,
      service: MCP.service,
      image: MCP.imageV2,
      'step-duration': '20s',
      analysis: spec(2),
    },
  });
  const milestones: Array<[string, RegExp]> = [
    ['preflight (service, production rule, hooks, task definition)', /^Starting a canary rollout/],
    ['create + wait healthy (record, register, UpdateService, follow)', /^New version \S+ is healthy\./],
    ['step 1: continue + ECS shifts to 10% + read back', /^Step 1\/2/],
    ['step 1: bake 20 s (2 runs: metric + ECS check)', /^Step 1 analysis/],
    ['step 2: continue + ECS shifts to 100% + read back', /^Step 2\/2/],
    ['promote (continue, ECS bake + clean-up, record)', /^Rolled out /],
  ];
  const at = await Promise.all(milestones.map(([, re]) => running.waitForLog(re, 120_000).then(() => Date.now())));
  const step = await running.done;
  await traffic.stop();
  if (step.outputs.status !== 'succeeded') throw new Error(`expected success:\n${step.log}`);
  const rows: string[][] = [];
  let from = 0;
  milestones.forEach(([name], i) => {
    const untilAt = at[i] as number;
    const calls = server.calls.filter((c) => c.at > from && c.at <= untilAt);
    from = untilAt;
    const byOp = new Map<string, number>();
    for (const c of calls) byOp.set(c.operation, (byOp.get(c.operation) ?? 0) + 1);
    rows.push([name, String(calls.length), [...byOp].map(([op, n]) => `${op} ${n}`).join(', ')]);
  });
  rows.push(['whole rollout', String(server.calls.length), `${((performance.now() - started) / 1000).toFixed(1)} s`]);
  printTable(
    'AWS API calls per phase of a native canary 10→100 (PAUSE hooks before each step and after the switch)',
    ['phase', 'calls', 'by operation'],
    rows,
  );
}

// --- rollback action: a task-set rollout killed at 50% -----------------------------------
{
  const samples: Array<{ recovery: string; wall: number }> = [];
  for (let i = 0; i < RUNS; i++) {
    const { w } = await reset();
    const traffic = startAlbTraffic(
      clients.cloudwatch,
      w.loadBalancerArn,
      () => ({ [w.targetGroups.blue]: healthy, [w.targetGroups.green]: healthy }),
      { tickMs: 1000 },
    );
    const running = job().start('ecs-deploy', {
      inputs: {
        cluster: WORKLOAD.cluster,
        service: WORKLOAD.web,
        'container-name': WORKLOAD.web,
        image: IMAGES.webV2,
        steps: '10:10s,50,100',
        'step-duration': '5m',
        analysis: spec(2),
      },
    });
    await running.waitForLog(/^Step 2\/3: 50%/, 60_000);
    running.kill('SIGKILL');
    await running.done;
    await traffic.stop();
    const started = performance.now();
    const step = await job('4300').run('rollback', {
      inputs: { cluster: WORKLOAD.cluster, service: WORKLOAD.web, reason: 'bench' },
    });
    if (step.outputs.status !== 'rolled-back') throw new Error(`expected a rollback:\n${step.log}`);
    const restored =
      /Back on \S+ (\S+) after the first change/.exec(step.log)?.[1] ?? `${step.outputs['recovery-seconds']}s`;
    samples.push({ recovery: restored, wall: performance.now() - started });
  }
  printTable(
    `rollback: a task-set canary killed at 50% (${RUNS} runs)`,
    ['run', 'first change → traffic back', 'action wall time'],
    [
      ...samples.map((x, i) => [String(i + 1), x.recovery, `${(x.wall / 1000).toFixed(1)} s`]),
      ['median', '', `${(median(samples.map((x) => x.wall)) / 1000).toFixed(1)} s`],
    ],
  );
}

clients.destroy();
await server.close();
await moto.stop();
