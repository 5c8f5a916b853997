/**
 * For every bundle: its size, and its cold start (median wall time of `node
 * dist/X/index.js` up to its first input error) beside bare `node -e 0`, runs
 * interleaved so both see the same machine load.
 */
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listActions, ROOT } from '../lib/actions.js';
import { kB, median, printTable, timeRun } from './lib.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 31);
const actions = listActions();
const temp = mkdtempSync(join(tmpdir(), 'pa-bench-'));
const baseEnv: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  GITHUB_OUTPUT: join(temp, 'out'),
  GITHUB_ENV: join(temp, 'env'),
  GITHUB_STATE: join(temp, 'state'),
  GITHUB_STEP_SUMMARY: join(temp, 'summary'),
  RUNNER_TEMP: temp,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/** No inputs at all: an action with a required input stops at it; others get one invalid choice. */
function envFor(id: string): NodeJS.ProcessEnv {
  const meta = actions.find((a) => a.id === id)?.meta;
  const hasRequired = Object.values(meta?.inputs ?? {}).some((i) => i.required);
  if (hasRequired) return baseEnv;
  const env = { ...baseEnv };
  for (const name of Object.keys(meta?.inputs ?? {})) env[`INPUT_${name.toUpperCase()}`] = '\u0001not-valid';
  return env;
}

const samples = new Map<string, number[]>([['node -e 0', []]]);
for (const a of actions) samples.set(a.id, []);
for (let i = 0; i < RUNS; i++) {
  samples.get('node -e 0')?.push(timeRun(['-e', '0'], baseEnv));
  for (const a of actions) samples.get(a.id)?.push(timeRun([join(ROOT, 'dist', a.id, 'index.js')], envFor(a.id)));
}
const bare = median(samples.get('node -e 0') ?? []);

const rows = actions.map((a) => {
  const dir = join(ROOT, 'dist', a.id);
  const files = readdirSync(dir);
  const js = files.filter((f) => f.endsWith('.js')).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
  const all = files.reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
  const entry = statSync(join(dir, 'index.js')).size;
  const start = median(samples.get(a.id) ?? []);
  return [a.id, kB(entry), kB(js), kB(all), `${start.toFixed(0)} ms`, `${(start / bare).toFixed(2)}×`];
});
printTable(
  `Bundles (cold start: median of ${RUNS} runs; bare \`node -e 0\` ${bare.toFixed(0)} ms in the same run)`,
  ['action', 'entry chunk', 'all JS', 'dist folder', 'cold start', 'vs bare node'],
  rows,
);
