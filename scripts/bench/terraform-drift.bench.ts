/**
 * terraform-drift across stacks, `concurrency` at a time: six applied stacks of
 * terraform_data (Terraform's built-in provider, local state: no cloud, no network), the
 * built bundle run as the runner runs it, at concurrency 1, 2 and 3. Needs `terraform`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../lib/actions.js';
import { median, printTable } from './lib.js';

const STACKS = 6;
const RUNS = Number(process.env.BENCH_RUNS_DRIFT ?? 3);
const root = mkdtempSync(join(tmpdir(), 'pa-bench-drift-'));
const workspace = join(root, 'workspace');
const env = { ...process.env, TF_IN_AUTOMATION: '1', TF_INPUT: '0' };

for (let i = 0; i < STACKS; i++) {
  const dir = join(workspace, 'stacks', `s${i}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'main.tf'),
    `resource "terraform_data" "r" {\n  count = 20\n  input = "stack-${i}-\${count.index}"\n}\n`,
  );
  for (const args of [
    ['init', '-input=false'],
    ['apply', '-auto-approve', '-input=false'],
  ]) {
    const r = spawnSync('terraform', args, { cwd: dir, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`terraform ${args[0]} failed: ${r.stderr}`);
  }
}

function runDrift(concurrency: number): number {
  const temp = mkdtempSync(join(root, 'run-'));
  const files = ['out', 'env', 'state', 'summary', 'path'].map((f) => join(temp, f));
  for (const f of files) writeFileSync(f, '');
  const started = performance.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'terraform-drift', 'index.js')], {
    cwd: workspace,
    env: {
      ...env,
      GITHUB_WORKSPACE: workspace,
      RUNNER_TEMP: temp,
      GITHUB_OUTPUT: files[0],
      GITHUB_ENV: files[1],
      GITHUB_STATE: files[2],
      GITHUB_STEP_SUMMARY: files[3],
      GITHUB_PATH: files[4],
      INPUT_STACKS: 'stacks/*',
      INPUT_CONCURRENCY: String(concurrency),
      'INPUT_CREATE-ISSUES': 'false',
      'INPUT_GITHUB-TOKEN': '',
    },
    encoding: 'utf8',
  });
  const ms = performance.now() - started;
  if (r.status !== 0) throw new Error(`terraform-drift failed:\n${r.stdout}\n${r.stderr}`);
  return ms;
}

const rows: string[][] = [];
let serial = 0;
for (const concurrency of [1, 2, 3]) {
  const ms = median(Array.from({ length: RUNS }, () => runDrift(concurrency)));
  if (concurrency === 1) serial = ms;
  rows.push([String(concurrency), `${(ms / 1000).toFixed(1)} s`, `${(serial / ms).toFixed(2)}×`]);
}
rmSync(root, { recursive: true, force: true });
printTable(
  `terraform-drift over ${STACKS} stacks (init + refresh-only plan + plan + 2 × show each); median of ${RUNS}`,
  ['concurrency', 'wall time', 'speed-up'],
  rows,
);
