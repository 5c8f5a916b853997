/**
 * gke-deploy (the committed bundle, run as the runner runs it) against the Kubernetes
 * stand-in and a real Prometheus scraping loopback apps:
 *
 * - its bundle size and cold start beside bare `node -e 0` (medians of interleaved runs):
 *   to the first input error, and a whole dry run (cluster read, server-side dry runs, plan);
 * - from an SLO breach injected into the canary at 10% to 100% of the route on stable,
 *   with a 10 s analysis interval, for failure-limit 1 and 2.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NS, routeWeights, seedWeb, IMAGES } from '../../test/support/gke-workload.js';
import { startKubeServer } from '../../test/support/kube-server.js';
import { startMetricsLab } from '../../test/support/prometheus.js';
import { Job } from '../../test/support/runner.js';
import { ROOT } from '../lib/actions.js';
import { kB, median, printTable } from './lib.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const BREACH_RUNS = Number(process.env.BENCH_RUNS_GKE ?? 3);
const temp = mkdtempSync(join(tmpdir(), 'pa-bench-gke-'));
const dist = join(ROOT, 'dist', 'gke-deploy');

const kube = await startKubeServer();
const healthy = { errorRate: 0, latencyMs: 20 };
const lab = await startMetricsLab({
  namespace: NS,
  deployments: { web: { behaviour: healthy, rps: 20 }, 'web-canary': { behaviour: healthy, rps: 20 } },
});

// --- size and cold start ---------------------------------------------------------------
const files = readdirSync(dist).filter((f) => f.endsWith('.js'));
const js = files.reduce((sum, f) => sum + statSync(join(dist, f)).size, 0);
const entry = statSync(join(dist, 'index.js')).size;
await seedWeb(kube);
const kubeconfig = kube.kubeconfig();
const base: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  GITHUB_OUTPUT: join(temp, 'out'),
  GITHUB_STATE: join(temp, 'state'),
  GITHUB_STEP_SUMMARY: join(temp, 'summary'),
  RUNNER_TEMP: temp,
};
const dryRun: NodeJS.ProcessEnv = {
  ...base,
  INPUT_KUBECONFIG: kubeconfig,
  INPUT_NAMESPACE: NS,
  INPUT_DEPLOYMENT: 'web',
  INPUT_IMAGE: IMAGES.v2,
  INPUT_STRATEGY: 'canary',
  INPUT_ANALYSIS: 'none',
  'INPUT_DRY-RUN': 'true',
  'INPUT_STEP-DURATION': '5m',
  'INPUT_KEEP-PREVIOUS': '10m',
  'INPUT_WAIT-TIMEOUT': '15m',
};
for (const f of ['out', 'state', 'summary']) writeFileSync(join(temp, f), '');
const cases: Array<[string, string[], NodeJS.ProcessEnv]> = [
  ['node -e 0', ['-e', '0'], base],
  ['gke-deploy: first input error', [join(dist, 'index.js')], base],
  ['gke-deploy: whole dry run (canary)', [join(dist, 'index.js')], dryRun],
];
/** Wall time of one run; asynchronous, since the stand-in answers from this process. A dry run must succeed. */
function timeRun(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (env['INPUT_DRY-RUN'] && code !== 0) reject(new Error(`the dry run failed (exit ${code})`));
      else resolve(Number(process.hrtime.bigint() - start) / 1e6);
    });
  });
}
const samples = cases.map(() => [] as number[]);
for (let i = 0; i < RUNS; i++)
  for (const [j, [, args, env]] of cases.entries()) samples[j]?.push(await timeRun(args, env));
const bare = median(samples[0] ?? []);
printTable(
  'gke-deploy bundle (dist/gke-deploy, ncc -m, chunks minified)',
  ['entry chunk', 'all JS', 'target'],
  [[kB(entry), kB(js), '≤ 1.5 MB']],
);
printTable(
  `gke-deploy cold start (median of ${RUNS} interleaved runs)`,
  ['run', 'time', 'vs bare node', 'target'],
  cases.map(([name], j) => {
    const t = median(samples[j] ?? []);
    return [name, `${t.toFixed(0)} ms`, `${(t / bare).toFixed(2)}×`, j === 1 ? '≤ 1.5×' : ''];
  }),
);

// --- breach → 100% on stable ------------------------------------------------------------
const spec = (failureLimit: number) => `
interval: 10s
failure-limit: ${failureLimit}
provider: prometheus
min-count: 100
metrics:
  - name: error-rate
    query: (sum(rate(http_requests_total{namespace="{{namespace}}", deployment="{{deployment}}", code=~"5.."}[{{range}}])) or vector(0)) / sum(rate(http_requests_total{namespace="{{namespace}}", deployment="{{deployment}}"}[{{range}}]))
    count-query: sum(increase(http_requests_total{namespace="{{namespace}}", deployment="{{deployment}}"}[{{range}}]))
    judge: { threshold: { max: 1% } }
`;
const canary = lab.apps['web-canary'] as NonNullable<(typeof lab.apps)[string]>;

/** Breach injected `offsetMs` after 10% is confirmed; time until the route has all traffic on stable. */
async function recovery(failureLimit: number, offsetMs: number): Promise<{ totalMs: number; engineMs: number }> {
  kube.reset();
  canary.behaviour = healthy;
  await seedWeb(kube, { route: true });
  const running = new Job().start('gke-deploy', {
    inputs: {
      kubeconfig: kube.kubeconfig(),
      namespace: NS,
      deployment: 'web',
      image: IMAGES.v2,
      strategy: 'canary',
      'http-route': 'web',
      steps: '10,50,100',
      'step-duration': '5m',
      analysis: spec(failureLimit),
      'prometheus-url': lab.prometheus.url,
    },
  });
  await running.waitForLog(/^Step 1\/3: 10%/, 60_000);
  await new Promise((r) => setTimeout(r, offsetMs));
  canary.behaviour = { errorRate: 0.2, latencyMs: 20 };
  const injectedAt = performance.now();
  for (;;) {
    const w = routeWeights(kube);
    if (!('web-canary' in w)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const totalMs = performance.now() - injectedAt;
  const step = await running.done;
  if (step.outputs.status !== 'rolled-back')
    throw new Error(`expected a rollback, got ${step.outputs.status}:\n${step.log}`);
  const report = JSON.parse(readFileSync(step.outputs['analysis-report'] as string, 'utf8')) as {
    failure: { recoverySeconds: number };
  };
  return { totalMs, engineMs: report.failure.recoverySeconds * 1000 };
}

const rows: string[][] = [];
for (const failureLimit of [1, 2]) {
  const runs: Array<{ totalMs: number; engineMs: number }> = [];
  for (let i = 0; i < BREACH_RUNS; i++) runs.push(await recovery(failureLimit, 1000 + i * 4000));
  rows.push([
    String(failureLimit),
    `${(median(runs.map((r) => r.totalMs)) / 1000).toFixed(1)} s`,
    `${(Math.max(...runs.map((r) => r.totalMs)) / 1000).toFixed(1)} s`,
    `${median(runs.map((r) => r.engineMs)).toFixed(0)} ms`,
    '≤ 30 s',
  ]);
}
printTable(
  `SLO breach → 100% on stable (canary behind an HTTPRoute, real Prometheus scraping every 1 s, interval 10 s, ${BREACH_RUNS} runs, breach 1–${1 + (BREACH_RUNS - 1) * 4} s into the 10% bake)`,
  ['failure-limit', 'median', 'worst', 'detection → route confirmed on stable (engine)', 'target'],
  rows,
);

await lab.stop();
await kube.close();
