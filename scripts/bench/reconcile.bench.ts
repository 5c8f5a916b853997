/**
 * reconcile on moto (the built bundle, through the AWS proxy that counts calls, with the
 * GitHub stand-in answering run status): a pass over 250 services, 50 of them with a
 * record whose owner is alive (each its own run), 200 without; and a dead run's canary
 * killed at 10% with no post step: time from the reconcile run's start until the listener
 * shows 100% on stable.
 */
import {
  CreateClusterCommand,
  CreateServiceCommand,
  RegisterTaskDefinitionCommand,
  TagResourceCommand,
} from '@aws-sdk/client-ecs';
import { startAwsProxy } from '../../test/support/aws-proxy.js';
import {
  forwardPercentages,
  IMAGES,
  seedWorkload,
  workloadClients,
  WORKLOAD,
} from '../../test/support/ecs-workload.js';
import { setWorkflowRun, startGitHubServer } from '../../test/support/github-server.js';
import { startMoto } from '../../test/support/global-setup.js';
import { Job } from '../../test/support/runner.js';
import { median, printTable } from './lib.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const RUNS = Number(process.env.BENCH_RUNS_RECONCILE ?? 3);
const WITH = 50;
const WITHOUT = 200;

const moto = await startMoto({ MOTO_ECS_SERVICE_RUNNING: '2' });
const proxy = await startAwsProxy(moto.endpoint);
const gh = await startGitHubServer();
const clients = workloadClients(moto.endpoint);
const job = (runId: string) =>
  new Job({
    AWS_ENDPOINT_URL: proxy.url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: WORKLOAD.region,
    GITHUB_RUN_ID: runId,
    ...gh.env(),
  });
const reconcileInputs = (cluster: string) => ({
  clusters: cluster,
  'github-token': gh.token,
  environment: 'production',
});

// --- one pass over 250 services -----------------------------------------------------------
await fetch(`${moto.endpoint}/moto-api/reset`, { method: 'POST' });
await clients.ecs.send(new CreateClusterCommand({ clusterName: 'bench' }));
const td = await clients.ecs.send(
  new RegisterTaskDefinitionCommand({
    family: 'bench-app',
    containerDefinitions: [{ name: 'app', image: IMAGES.webV2, memory: 256 }],
  }),
);
const tdName = (td.taskDefinition?.taskDefinitionArn ?? '').split('/').pop() as string;
const lease = Math.floor(Date.now() / 1000) + 3600;
for (let i = 0; i < WITH + WITHOUT; i++) {
  const created = await clients.ecs.send(
    new CreateServiceCommand({ cluster: 'bench', serviceName: `svc-${i}`, taskDefinition: tdName, desiredCount: 0 }),
  );
  if (i < WITH) {
    const run = 5000 + i;
    setWorkflowRun(gh.store, 'acme', 'webapp', run, { status: 'in_progress' });
    const record = `v1 id=${run}.1-bench e=ecs-rolling p=shifting s=${tdName} c=${tdName} w=100 i=0 t=${Math.floor(Date.now() / 1000)} r=${run}.1 l=${lease}`;
    await clients.ecs.send(
      new TagResourceCommand({
        resourceArn: created.service?.serviceArn,
        tags: [{ key: 'platform-actions:rollout', value: record }],
      }),
    );
  }
}
const scanRows: string[][] = [];
const walls: number[] = [];
let calls: Record<string, number> = {};
let githubCalls = 0;
for (let i = 0; i < RUNS; i++) {
  proxy.reset();
  gh.calls.length = 0;
  const started = performance.now();
  const result = await job(`9${i}00`).run('reconcile', { inputs: reconcileInputs('bench') });
  walls.push(performance.now() - started);
  const counts = JSON.parse(result.outputs.counts as string) as { rollouts: number; left: number };
  if (counts.rollouts !== WITH || counts.left !== WITH)
    throw new Error(`expected ${WITH} rollouts left alone, got ${result.outputs.counts}:\n${result.log}`);
  calls = {};
  for (const c of proxy.calls) calls[c.operation] = (calls[c.operation] ?? 0) + 1;
  githubCalls = gh.calls.length;
}
scanRows.push([
  `${WITH} + ${WITHOUT}`,
  `${(median(walls) / 1000).toFixed(2)} s`,
  `${(Math.max(...walls) / 1000).toFixed(2)} s`,
  String(Object.values(calls).reduce((a, b) => a + b, 0)),
  Object.entries(calls)
    .map(([k, v]) => `${k} ${v}`)
    .join(', '),
  String(githubCalls),
]);
printTable(
  `reconcile, one pass (${RUNS} runs; owners alive, so nothing changes)`,
  ['services (with record + without)', 'median wall', 'worst', 'AWS calls', 'by operation', 'GitHub calls'],
  scanRows,
);

// --- dead run → stable, from the reconcile run's start ---------------------------------------
const restoreRows: number[] = [];
for (let i = 0; i < RUNS; i++) {
  await fetch(`${moto.endpoint}/moto-api/reset`, { method: 'POST' });
  const w = await seedWorkload(moto.endpoint);
  gh.reset();
  const running = job('4242').start('ecs-deploy', {
    inputs: {
      cluster: WORKLOAD.cluster,
      service: WORKLOAD.web,
      'container-name': WORKLOAD.web,
      image: IMAGES.webV2,
      steps: '10,50,100',
      'step-duration': '5m',
      analysis: 'none',
    },
  });
  await running.waitForLog(/Step 1\/3: 10% on the new version/, 60_000);
  running.kill('SIGKILL');
  await running.done;
  setWorkflowRun(gh.store, 'acme', 'webapp', 4242, { status: 'completed', conclusion: 'cancelled' });
  const started = performance.now();
  const reconciling = job('9999').start('reconcile', { inputs: reconcileInputs(WORKLOAD.cluster) });
  let restoredMs: number | undefined;
  while (restoredMs === undefined) {
    const p = await forwardPercentages(clients.elbv2, w.listenerArn);
    if (p[w.targetGroups.blue] === 100) restoredMs = performance.now() - started;
    else await new Promise((r) => setTimeout(r, 50));
  }
  const done = await reconciling.done;
  if (!/rolled-back/.test(done.outputs.actions ?? '')) throw new Error(`expected a rollback:\n${done.log}`);
  restoreRows.push(restoredMs);
}
printTable(
  `dead run (SIGKILL at 10%, no post step) → 100% on stable, from the reconcile run's start (${RUNS} runs)`,
  ['median', 'worst', 'includes'],
  [
    [
      `${(median(restoreRows) / 1000).toFixed(2)} s`,
      `${(Math.max(...restoreRows) / 1000).toFixed(2)} s`,
      'node start, scan, GitHub run status, abort request, one ModifyListener confirmed',
    ],
  ],
);

clients.destroy();
await proxy.close();
await gh.close();
await moto.stop?.();
process.exit(0);
