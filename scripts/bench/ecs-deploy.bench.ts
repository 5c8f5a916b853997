/**
 * ecs-deploy on moto (the built bundle, run as the runner runs it, through the AWS proxy
 * that counts calls): how long from an injected SLO breach on the canary to 100% of
 * traffic back on stable, with a 10 s analysis interval; and the AWS API calls each phase
 * of a canary rollout makes.
 */
import { startAwsProxy, type AwsProxy } from '../../test/support/aws-proxy.js';
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
const proxy: AwsProxy = await startAwsProxy(moto.endpoint);
const clients = workloadClients(moto.endpoint);

const spec = (failureLimit: number) => `
interval: 10s
failure-limit: ${failureLimit}
provider: cloudwatch
metrics:
  - { name: error-rate, query: alb:error-rate, min-count: 10, judge: { threshold: { max: 1% } } }
  - { name: average-latency, query: alb:average-latency, min-count: 10, judge: { threshold: { max: 500ms } } }
`;

const job = () =>
  new Job({
    AWS_ENDPOINT_URL: proxy.url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: WORKLOAD.region,
  });
const inputs = (extra: Record<string, string>) => ({
  cluster: WORKLOAD.cluster,
  service: WORKLOAD.web,
  'container-name': WORKLOAD.web,
  image: IMAGES.webV2,
  ...extra,
});
const healthy: SideTraffic = { requests: 200, errors: 0, latency: () => 0.12 };

async function reset() {
  await fetch(`${moto.endpoint}/moto-api/reset`, { method: 'POST' });
  const w = await seedWorkload(moto.endpoint);
  proxy.reset();
  return w;
}

/** Breach injected `offsetMs` after 10% is confirmed; time until the listener shows 100% on blue. */
async function recovery(failureLimit: number, offsetMs: number): Promise<{ totalMs: number; engineMs: number }> {
  const w = await reset();
  let breach = false;
  const traffic = startAlbTraffic(
    clients.cloudwatch,
    w.loadBalancerArn,
    () => ({ [w.targetGroups.blue]: healthy, [w.targetGroups.green]: breach ? { ...healthy, errors: 20 } : healthy }),
    { tickMs: 1000 },
  );
  const running = job().start('ecs-deploy', {
    inputs: inputs({ steps: '10,50,100', 'step-duration': '5m', analysis: spec(failureLimit) }),
  });
  await running.waitForLog(/^Step 1\/3: 10%/);
  await new Promise((r) => setTimeout(r, offsetMs));
  breach = true;
  const injectedAt = performance.now();
  for (;;) {
    const p = await forwardPercentages(clients.elbv2, w.listenerArn);
    if (p[w.targetGroups.blue] === 100) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const totalMs = performance.now() - injectedAt;
  const step = await running.done;
  await traffic.stop();
  if (step.outputs.status !== 'rolled-back')
    throw new Error(`expected a rollback, got ${step.outputs.status}:\n${step.log}`);
  const report = JSON.parse(
    (await import('node:fs')).readFileSync(step.outputs['analysis-report'] as string, 'utf8'),
  ) as { failure: { recoverySeconds: number } };
  return { totalMs, engineMs: report.failure.recoverySeconds * 1000 };
}

const recoveryRows: string[][] = [];
for (const failureLimit of [1, 2]) {
  const samples: Array<{ totalMs: number; engineMs: number }> = [];
  for (let i = 0; i < RUNS; i++) samples.push(await recovery(failureLimit, 1000 + i * 4000));
  recoveryRows.push([
    String(failureLimit),
    `${(median(samples.map((s) => s.totalMs)) / 1000).toFixed(1)} s`,
    `${(Math.max(...samples.map((s) => s.totalMs)) / 1000).toFixed(1)} s`,
    `${median(samples.map((s) => s.engineMs)).toFixed(0)} ms`,
  ]);
}
printTable(
  `SLO breach → 100% on stable (moto, interval 10 s, ${RUNS} runs, breach 1–${1 + (RUNS - 1) * 4} s into the 10% bake)`,
  ['failure-limit', 'median', 'worst', 'detection → restored (engine)'],
  recoveryRows,
);

// --- API calls per phase of a successful canary -------------------------------------------
{
  const w = await reset();
  const traffic = startAlbTraffic(
    clients.cloudwatch,
    w.loadBalancerArn,
    () => ({ [w.targetGroups.blue]: healthy, [w.targetGroups.green]: healthy }),
    { tickMs: 1000 },
  );
  const started = performance.now();
  const running = job().start('ecs-deploy', {
    inputs: inputs({ steps: '10,50,100', 'step-duration': '20s', analysis: spec(2) }),
  });
  const milestones: Array<[string, RegExp]> = [
    ['preflight (inputs, service, task sets, listener, task definition)', /^Starting a canary rollout/],
    ['create + wait healthy (record, register, CreateTaskSet, health)', /^New version \S+ is healthy\./],
    ['step 1: shift to 10% + confirm', /^Step 1\/3/],
    ['step 1: bake 20 s (2 runs × 2 metrics)', /^Step 1 analysis/],
    ['step 2: shift to 50% + confirm', /^Step 2\/3/],
    ['step 2: bake 20 s (2 runs × 2 metrics)', /^Step 2 analysis/],
    ['step 3: shift to 100% + confirm', /^Step 3\/3/],
    ['promote (primary, delete old, record)', /^Rolled out /],
  ];
  const at = await Promise.all(milestones.map(([, re]) => running.waitForLog(re, 120_000).then(() => Date.now())));
  const step = await running.done;
  await traffic.stop();
  if (step.outputs.status !== 'succeeded') throw new Error(`expected success:\n${step.log}`);
  const rows: string[][] = [];
  let from = 0;
  milestones.forEach(([name], i) => {
    const until = at[i] as number;
    const calls = proxy.calls.filter((c) => c.at > from && c.at <= until);
    from = until;
    const byOp = new Map<string, number>();
    for (const c of calls) byOp.set(c.operation, (byOp.get(c.operation) ?? 0) + 1);
    rows.push([name, String(calls.length), [...byOp].map(([op, n]) => `${op} ${n}`).join(', ')]);
  });
  rows.push(['whole rollout', String(proxy.calls.length), `${((performance.now() - started) / 1000).toFixed(1)} s`]);
  printTable(
    'AWS API calls per phase of a canary 10→50→100 (task sets, listener weights)',
    ['phase', 'calls', 'by operation'],
    rows,
  );
}

clients.destroy();
await proxy.close();
await moto.stop();
