/**
 * The k8s client with the GKE parts of gcp/ alone (what any Kubernetes action carries),
 * built with the same ncc -m + terser as `npm run bundle`: its size, and its cold start
 * (median of interleaved runs beside bare `node -e 0`) to exit and to the first answer of
 * the stand-in Kubernetes API server. gke-deploy itself: gke-deploy.bench.ts.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { minify } from 'terser';
import { startKubeServer } from '../../test/support/kube-server.js';
import { ROOT } from '../lib/actions.js';
import { kB, median, printTable } from './lib.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const run = promisify(execFile);
const ncc = join(ROOT, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');
const temp = mkdtempSync(join(tmpdir(), 'pa-bench-k8s-'));

async function bundle(name: string, entry: string): Promise<{ dir: string; entry: number; js: number }> {
  const out = join(temp, name);
  await run(process.execPath, [ncc, 'build', entry, '-o', out, '-m', '-q'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  for (const file of readdirSync(out).filter((f) => /^\d+\.index\.js$/.test(f))) {
    const path = join(out, file);
    writeFileSync(
      path,
      (await minify(readFileSync(path, 'utf8'), { module: true, compress: true, mangle: true })).code ?? '',
    );
  }
  const js = readdirSync(out)
    .filter((f) => f.endsWith('.js'))
    .reduce((sum, f) => sum + statSync(join(out, f)).size, 0);
  return { dir: out, entry: statSync(join(out, 'index.js')).size, js };
}

const client = await bundle('k8s-client', 'scripts/bench/entries/k8s-client.ts');
const server = await startKubeServer();
const kubeconfig = server.kubeconfig();
for (let i = 0; i < 3; i++)
  server.seed('deployments', 'default', {
    metadata: { name: `web-${i}` },
    spec: {
      selector: { matchLabels: { app: `web-${i}` } },
      template: {
        metadata: { labels: { app: `web-${i}` } },
        spec: { containers: [{ name: 'app', image: 'ghcr.io/acme/web:1' }] },
      },
    },
  });

const base: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  GITHUB_OUTPUT: join(temp, 'out'),
  GITHUB_STATE: join(temp, 'state'),
  GITHUB_STEP_SUMMARY: join(temp, 'summary'),
  RUNNER_TEMP: temp,
};
const cases: Array<[string, string[], NodeJS.ProcessEnv]> = [
  ['node -e 0', ['-e', '0'], base],
  ['k8s-client: load and exit', [join(client.dir, 'index.js')], base],
  ['k8s-client: first API answer', [join(client.dir, 'index.js')], { ...base, BENCH_KUBECONFIG: kubeconfig }],
];
/** Wall time of one run; asynchronous, since the stand-in API server answers from this process. */
function timeRun(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolve(Number(process.hrtime.bigint() - start) / 1e6));
  });
}
const samples = cases.map(() => [] as number[]);
for (let i = 0; i < RUNS; i++)
  for (const [j, [, args, env]] of cases.entries()) samples[j]?.push(await timeRun(args, env));
await server.close();
const bare = median(samples[0] ?? []);

printTable(
  'Bundle sizes (ncc -m, chunks minified with terser)',
  ['bundle', 'entry chunk', 'all JS', 'target'],
  [['k8s client + GKE parts of gcp/', kB(client.entry), kB(client.js), '≤ 1.5 MB']],
);
printTable(
  `Cold start (median of ${RUNS} interleaved runs)`,
  ['run', 'time', 'vs bare node'],
  cases.map(([name], j) => {
    const t = median(samples[j] ?? []);
    return [name, `${t.toFixed(0)} ms`, `${(t / bare).toFixed(2)}×`];
  }),
);
