/**
 * The fault model, timed (ecs-deploy and rollback bundles on moto behind the fault proxy):
 *
 * - an SLO breach on the canary → 100% on stable while every listener read and write is
 *   throttled for 30 s from the moment of the breach;
 * - an operator's rollback action during a bake → 100% on stable, and → the running
 *   deploy has yielded (its process ended);
 * - an SLO breach at the moment aws-auth's session expires (AWS refuses the key; the
 *   clients renew from the job's OIDC token) → 100% on stable, beside the same breach with
 *   the session still valid.
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
import { startOidcIssuer } from '../../test/support/oidc-issuer.js';
import { Job } from '../../test/support/runner.js';
import { CreateOpenIDConnectProviderCommand, CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
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
const job = (runId: string) =>
  new Job({
    AWS_ENDPOINT_URL: proxy.url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: WORKLOAD.region,
    GITHUB_RUN_ID: runId,
  });
const inputs = (extra: Record<string, string>) => ({
  cluster: WORKLOAD.cluster,
  service: WORKLOAD.web,
  'container-name': WORKLOAD.web,
  image: IMAGES.webV2,
  analysis: SPEC,
  ...extra,
});

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
  const traffic = startAlbTraffic(
    clients.cloudwatch,
    w.loadBalancerArn,
    () => ({ [w.targetGroups.blue]: healthy, [w.targetGroups.green]: breach ? { ...healthy, errors: 20 } : healthy }),
    { tickMs: 1000 },
  );
  const running = job('4242').start('ecs-deploy', { inputs: inputs({ steps: '10,50,100', 'step-duration': '5m' }) });
  await running.waitForLog(/^Step 1\/3: 10%/);
  await new Promise((r) => setTimeout(r, 1000 + i * 3000));
  breach = true;
  const at = performance.now();
  proxy.injectFor({
    operations: ['ModifyListener', 'DescribeListeners'],
    durationMs: 30_000,
    status: 400,
    code: 'Throttling',
    message: 'Rate exceeded',
  });
  await untilStable(w.listenerArn, w.targetGroups.blue);
  throttled.push(performance.now() - at);
  const step = await running.done;
  await traffic.stop();
  if (step.outputs.status !== 'rolled-back')
    throw new Error(`expected a rollback, got ${step.outputs.status}:\n${step.log}`);
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
  const traffic = startAlbTraffic(
    clients.cloudwatch,
    w.loadBalancerArn,
    () => ({ [w.targetGroups.blue]: healthy, [w.targetGroups.green]: healthy }),
    { tickMs: 1000 },
  );
  const running = job('4242').start('ecs-deploy', { inputs: inputs({ steps: '10:5m,50,100' }) });
  await running.waitForLog(/^Judging 10% for 5m/);
  await new Promise((r) => setTimeout(r, 1000 + i * 3000));
  const at = performance.now();
  const rollback = job('5555').run('rollback', {
    inputs: { cluster: WORKLOAD.cluster, service: WORKLOAD.web, reason: 'bench' },
  });
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
    [
      '→ the deploy yielded (process ended)',
      seconds(median(toYield)),
      seconds(Math.max(...toYield)),
      '≤ one interval (10 s) after the restore',
    ],
  ],
);

// --- breach while the session expires: renewed credentials vs a valid session --------------
{
  const issuer = await startOidcIssuer();
  const iam = new IAMClient({
    region: WORKLOAD.region,
    endpoint: moto.endpoint,
    maxAttempts: 1,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const role = 'arn:aws:iam::123456789012:role/github-deploy';
  const host = issuer.url.replace(/^https?:\/\//, '');
  const breachOnce = async (expire: boolean, offsetMs: number): Promise<number> => {
    const w = await reset();
    await iam.send(
      new CreateOpenIDConnectProviderCommand({
        Url: issuer.url,
        ClientIDList: ['sts.amazonaws.com'],
        ThumbprintList: ['a'.repeat(40)],
      }),
    );
    await iam.send(
      new CreateRoleCommand({
        RoleName: 'github-deploy',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Federated: `arn:aws:iam::123456789012:oidc-provider/${host}` },
              Action: 'sts:AssumeRoleWithWebIdentity',
              Condition: { StringEquals: { [`${host}:aud`]: 'sts.amazonaws.com' } },
            },
          ],
        }),
      }),
    );
    const authed = new Job({ ...issuer.runnerEnv(), AWS_ENDPOINT_URL: proxy.url });
    const auth = await authed.run('aws-auth', { inputs: { 'role-to-assume': role, 'aws-region': WORKLOAD.region } });
    if (auth.failure) throw new Error(`aws-auth failed: ${auth.failure}`);
    let breach = false;
    const traffic = startAlbTraffic(
      clients.cloudwatch,
      w.loadBalancerArn,
      () => ({ [w.targetGroups.blue]: healthy, [w.targetGroups.green]: breach ? { ...healthy, errors: 20 } : healthy }),
      { tickMs: 1000 },
    );
    const running = authed.start('ecs-deploy', { inputs: inputs({ steps: '10,50,100', 'step-duration': '5m' }) });
    await running.waitForLog(/^Step 1\/3: 10%/);
    await new Promise((r) => setTimeout(r, offsetMs));
    if (expire) proxy.expiry.expire(auth.exported.AWS_ACCESS_KEY_ID as string);
    breach = true;
    const at = performance.now();
    await untilStable(w.listenerArn, w.targetGroups.blue);
    const ms = performance.now() - at;
    const step = await running.done;
    await traffic.stop();
    if (step.outputs.status !== 'rolled-back')
      throw new Error(`expected a rollback, got ${step.outputs.status}:\n${step.log}`);
    if (expire && !step.log.includes('Renewed the AWS session')) throw new Error(`expected a renewal:\n${step.log}`);
    return ms;
  };
  const renewed: number[] = [];
  const valid: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    renewed.push(await breachOnce(true, 1000 + i * 3000));
    valid.push(await breachOnce(false, 1000 + i * 3000));
  }
  printTable(
    `SLO breach → 100% on stable, aws-auth's session refused as expired at the moment of the breach (interval 10 s, ${RUNS} runs each)`,
    ['credentials', 'median', 'worst'],
    [
      ["renewed from the job's OIDC token", seconds(median(renewed)), seconds(Math.max(...renewed))],
      ['session still valid (baseline)', seconds(median(valid)), seconds(Math.max(...valid))],
    ],
  );
  iam.destroy();
  await issuer.close();
}

clients.destroy();
await proxy.close();
await moto.stop();
