/**
 * The fault model, timed (ecs-deploy and rollback bundles on moto behind the fault proxy):
 *
 * - an SLO breach on the canary → 100% on stable while every listener read and write is
 *   throttled for 30 s from the moment of the breach;
 * - an operator's rollback action during a bake → 100% on stable, and → the running
 *   deploy has yielded (its process ended).
 */
import { startAwsProxy, type AwsProxy } from '../../test/support/aws-proxy.js';
import { forwardPercentages, IMAGES, seedWorkload, startAlbTraffic, workloadClients, WORKLOAD, type SideTraffic } from '../../test/support/ecs-workload.js';
import { startMoto } from '../../test/support/global-setup.js';
import { Job } from '../../test/support/runner.js';
import { median, printTable } from './lib.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const RUNS = Number(process.env.BENCH_RUNS_FAULTS ?? 3);

const moto = await startMoto({ MOTO_ECS_SERVICE_RUNNING: '2' });
const proxy: AwsProxy = await startAwsProxy(moto.endpoint);
const clients = workloadClients(moto.endpoint);

const SPEC = `
interval: 10s
failure-limit: 1
provider: cloudwatch
metrics:
  - { name: error-rate, query: alb:error-rate, min-count: 10, judge: { threshold: { max: 1% } } }
`;
const healthy: SideTraffic = { requests: 200, errors: 0, latency: () => 0.12 };
const job = (runId: string) => new Job({ AWS_ENDPOINT_URL: proxy.url, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: WORKLOAD.region, GITHUB_RUN_ID: runId });
const inputs = (extra: Record<string, string>) => ({ cluster: WORKLOAD.cluster, service: WORKLOAD.web, 'container-name': WORKLOAD.web, image: IMAGES.webV2, analysis: SPEC, ...extra });

async function reset() {
  await fetch(`${moto.endpoint}/moto-api/reset`, { method: 'POST' });
  const w = await seedWorkload(moto.endpoint);
  proxy.reset();
  return w;
}

async function untilStable(listenerArn: string, blue: string): Promise<void> {
  for (;;) {
    if ((await forwardPercentages(clients.elbv2, listenerArn))[blue] === 100) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

// --- breach with 30 s of throttling on the traffic calls ------------------------------------
const throttled: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const w = await reset();
  let breach = false;
  const traffic = startAlbTraffic(clients.cloudwatch, w.loadBalancerArn, () => ({ [w.targetGroups.blue]: healthy, [w.targetGroups.green]: breach ? { ...healthy, errors: 20 } : healthy }), { tickMs: 1000 });
  const running = job('4242').start('ecs-deploy', { inputs: inputs({ steps: '10,50,100', 'step-duration': '5m' }) });
  await running.waitForLog(/^Step 1\/3: 10%/);
  await new Promise((r) => setTimeout(r, 1000 + i * 3000));
  breach = true;
  const at = performance.now();
  proxy.injectFor({ operations: ['ModifyListener', 'DescribeListeners'], durationMs: 30_000, status: 400, code: 'Throttling', message: 'Rate exceeded' });
  await untilStable(w.listenerArn, w.targetGroups.blue);
  throttled.push(performance.now() - at);
  const step = await running.done;
  await traffic.stop();
  if (step.outputs.status !== 'rolled-back') throw new Error(`expected a rollback, got ${step.outputs.status}:\n${step.log}`);
}
printTable(
  `SLO breach → 100% on stable with every listener read and write throttled for 30 s from the breach (interval 10 s, ${RUNS} runs)`,
  ['median', 'worst', 'target'],
  [[seconds(median(throttled)), seconds(Math.max(...throttled)), '≤ 45 s']],
);

// --- operator abort during a bake ------------------------------------------------------------
const toStable: number[] = [];
const toYield: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const w = await reset();
  const traffic = startAlbTraffic(clients.cloudwatch, w.loadBalancerArn, () => ({ [w.targetGroups.blue]: healthy, [w.targetGroups.green]: healthy }), { tickMs: 1000 });
  const running = job('4242').start('ecs-deploy', { inputs: inputs({ steps: '10:5m,50,100' }) });
  await running.waitForLog(/^Judging 10% for 5m/);
  await new Promise((r) => setTimeout(r, 1000 + i * 3000));
  const at = performance.now();
  const rollback = job('5555').run('rollback', { inputs: { cluster: WORKLOAD.cluster, service: WORKLOAD.web, reason: 'bench' } });
  await untilStable(w.listenerArn, w.targetGroups.blue);
  toStable.push(performance.now() - at);
  const step = await running.done;
  toYield.push(performance.now() - at);
  await rollback;
  await traffic.stop();
  if (!step.failure?.includes('Aborted by')) throw new Error(`expected the deploy to yield:\n${step.log}`);
}
printTable(
  `Operator abort (the rollback action) during a 10% bake (interval 10 s, ${RUNS} runs)`,
  ['measure', 'median', 'worst', 'target'],
  [
    ['→ 100% on stable', seconds(median(toStable)), seconds(Math.max(...toStable)), '≤ 5 s'],
    ['→ the deploy yielded (process ended)', seconds(median(toYield)), seconds(Math.max(...toYield)), '≤ one interval (10 s) after the restore'],
  ],
);

clients.destroy();
await proxy.close();
await moto.stop();
