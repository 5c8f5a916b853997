/**
 * ecs-run-task's overhead: the wall time of the bundle, run as the runner runs it, minus the
 * task's own time in ECS (RunTask until ECS reports it STOPPED), against moto with the task
 * stand-in of the integration tests (test/support/ecs-tasks.ts) playing the container.
 *
 * The stand-in's task spends `stageMs` in each of PROVISIONING, PENDING and STOPPING and
 * `runMs` RUNNING, so its own time is 3 × stageMs + runMs by construction. What is left is
 * the action's: node start-up, inputs, the task definition and service reads, RunTask, the
 * polling interval (DescribeTasks every 2 s) that notices the stop late, the last log
 * read, outputs and summary.
 */
import { LogsReader } from '../../src/aws/logs.js';
import { startEcsTaskServer } from '../../test/support/ecs-tasks.js';
import { seedWorkload, WORKLOAD } from '../../test/support/ecs-workload.js';
import { startMoto } from '../../test/support/global-setup.js';
import { Job } from '../../test/support/runner.js';
import { median, printTable } from './lib.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const RUNS = Number(process.env.BENCH_RUNS_RUN_TASK ?? 5);
const STAGE_MS = 300;

const moto = await startMoto();
const server = await startEcsTaskServer(moto.endpoint, { stageMs: STAGE_MS });

const rows: string[][] = [];
for (const [runMs, lines] of [
  [2000, 4],
  [10_000, 20],
] as const) {
  const wall: number[] = [];
  const overhead: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await fetch(`${moto.endpoint}/moto-api/reset`, { method: 'POST' });
    server.reset();
    await seedWorkload(moto.endpoint);
    await createLogGroup('/ecs/platform');
    server.behave(WORKLOAD.web, {
      lines: Array.from({ length: lines }, (_, n) => `migration step ${n + 1}`),
      runMs,
      exitCode: 0,
    });
    const job = new Job({
      AWS_ENDPOINT_URL: server.url,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: WORKLOAD.region,
    });
    const started = performance.now();
    const step = await job.run('ecs-run-task', {
      inputs: { cluster: WORKLOAD.cluster, service: WORKLOAD.web, command: '["python", "-m", "migrate"]' },
    });
    const ms = performance.now() - started;
    if (step.outputs['exit-code'] !== '0' || !step.log.includes(`migration step ${lines}`))
      throw new Error(`expected a successful task with its whole log:\n${step.log}`);
    wall.push(ms);
    overhead.push(ms - (3 * STAGE_MS + runMs));
  }
  rows.push([
    `${(runMs / 1000).toFixed(0)} s, ${lines} log lines`,
    `${((3 * STAGE_MS + runMs) / 1000).toFixed(1)} s`,
    `${(median(wall) / 1000).toFixed(2)} s`,
    `${(median(overhead) / 1000).toFixed(2)} s`,
    `${(Math.min(...overhead) / 1000).toFixed(2)}–${(Math.max(...overhead) / 1000).toFixed(2)} s`,
  ]);
}
printTable(
  `ecs-run-task: action wall time minus the task's own time (median of ${RUNS} runs; ECS stages ${STAGE_MS} ms each)`,
  ['container runs', "task's own time", 'action wall time', 'overhead', 'overhead range'],
  rows,
);

await server.close();
await moto.stop();

async function createLogGroup(name: string): Promise<void> {
  const logs = new LogsReader({
    region: WORKLOAD.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    env: { AWS_ENDPOINT_URL: moto.endpoint },
    attempts: 1,
  });
  await logs.send('CreateLogGroup', { logGroupName: name });
}
