/**
 * Pause and resume on moto (the built ecs-deploy bundle, run as the runner runs it, through
 * the AWS proxy that counts calls): a canary paused at 25% by one job, then resumed by
 * another process; how long from the resuming process's start to its first confirmed shift
 * (50%), and the AWS calls it makes before that shift.
 */
import { startAwsProxy, type AwsProxy } from '../../test/support/aws-proxy.js';
import { IMAGES, seedWorkload, workloadClients, WORKLOAD } from '../../test/support/ecs-workload.js';
import { startMoto } from '../../test/support/global-setup.js';
import { Job } from '../../test/support/runner.js';
import { median, printTable } from './lib.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const RUNS = Number(process.env.BENCH_RUNS_PAUSE ?? 3);

const moto = await startMoto({ MOTO_ECS_SERVICE_RUNNING: '2' });
const proxy: AwsProxy = await startAwsProxy(moto.endpoint);
const clients = workloadClients(moto.endpoint);
const job = (runId: string) =>
  new Job({
    AWS_ENDPOINT_URL: proxy.url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: WORKLOAD.region,
    GITHUB_RUN_ID: runId,
  });
const inputs = (extra: Record<string, string> = {}) => ({
  cluster: WORKLOAD.cluster,
  service: WORKLOAD.web,
  'container-name': WORKLOAD.web,
  image: IMAGES.webV2,
  steps: '10,25:pause,50,100',
  'step-duration': '0s',
  analysis: 'none',
  ...extra,
});

const samples: Array<{ toShiftMs: number; toConfirmMs: number; totalMs: number; callsBefore: number }> = [];
for (let i = 0; i < RUNS; i++) {
  await fetch(`${moto.endpoint}/moto-api/reset`, { method: 'POST' });
  await seedWorkload(moto.endpoint);
  const paused = await job('4242').run('ecs-deploy', { inputs: inputs() });
  if (paused.outputs.status !== 'paused') throw new Error(`expected a pause:\n${paused.log}`);
  proxy.reset();
  const started = Date.now();
  const running = job(String(5000 + i)).start('ecs-deploy', { inputs: inputs({ resume: 'true' }) });
  const confirmed = running.waitForLog(/^Step 3\/4: 50%/, 120_000).then(() => Date.now());
  const step = await running.done;
  const done = Date.now();
  if (step.outputs.status !== 'succeeded') throw new Error(`expected the resume to promote:\n${step.log}`);
  const firstShift = proxy.calls.find((c) => c.operation === 'ModifyListener');
  if (!firstShift) throw new Error('the resume made no ModifyListener call');
  samples.push({
    toShiftMs: firstShift.at - started,
    toConfirmMs: (await confirmed) - started,
    totalMs: done - started,
    callsBefore: proxy.calls.filter((c) => c.at < firstShift.at).length,
  });
}
const ms = (v: number) => `${(v / 1000).toFixed(2)} s`;
printTable(
  `Resume → first shift (ECS task sets on moto, paused at 25%, resumed to 50% then 100%, no bakes, ${RUNS} runs)`,
  ['measure', 'median', 'worst'],
  [
    [
      'process start → ModifyListener to 50% sent',
      ms(median(samples.map((s) => s.toShiftMs))),
      ms(Math.max(...samples.map((s) => s.toShiftMs))),
    ],
    [
      'process start → 50% confirmed (read back)',
      ms(median(samples.map((s) => s.toConfirmMs))),
      ms(Math.max(...samples.map((s) => s.toConfirmMs))),
    ],
    [
      'process start → promoted, process ended',
      ms(median(samples.map((s) => s.totalMs))),
      ms(Math.max(...samples.map((s) => s.totalMs))),
    ],
    [
      'AWS calls before the first shift',
      String(median(samples.map((s) => s.callsBefore))),
      String(Math.max(...samples.map((s) => s.callsBefore))),
    ],
  ],
);

clients.destroy();
await proxy.close();
await moto.stop();
