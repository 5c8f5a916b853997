/**
 * Summarising a large JSON plan: a generated plan with 10,000 resource changes (all
 * kinds, 20 modules, sensitive values, the planned_values / prior_state sections real
 * plans repeat) is streamed, summarised, hashed (plan-id) and rendered as a PR comment
 * and a job summary, in a child process whose peak memory is measured.
 * Target: under 2 s, and peak memory under 3× the file size.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticPlan } from '../../test/support/synthetic-plan.js';
import { ROOT } from '../lib/actions.js';
import { median, printTable } from './lib.js';

const RESOURCES = Number(process.env.BENCH_PLAN_RESOURCES ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS_SUMMARY ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'pa-bench-plan-'));
const file = join(dir, 'plan.json');
writeFileSync(file, syntheticPlan({ resources: RESOURCES, padding: 200 }));
const size = statSync(file).size;

// The measured work, in a fresh process each time (no warm JIT, honest peak RSS).
const worker = join(dir, 'worker.mts');
writeFileSync(
  worker,
  `
import { summarisePlanFile } from ${JSON.stringify(join(ROOT, 'src/terraform/summary.ts'))};
import { renderPlan, chars, bytes, COMMENT_LIMIT } from ${JSON.stringify(join(ROOT, 'src/terraform/render.ts'))};
const baseline = process.memoryUsage().rss;
let peak = baseline;
const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 5);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const summary = await summarisePlanFile(${JSON.stringify(file)});
const t1 = performance.now();
const report = { stack: 'bench', directory: 'infra', binary: 'terraform', summary, errors: [], warnings: [], unformatted: [] };
const comment = renderPlan(report, { limit: COMMENT_LIMIT, measure: chars, markerId: 'terraform-plan:bench', moreHint: 'job summary' });
const full = renderPlan(report, { limit: 1024 * 1024, measure: bytes, moreHint: 'plan JSON' });
const t2 = performance.now();
const cpu = process.cpuUsage(cpu0);
peak = Math.max(peak, process.memoryUsage().rss);
clearInterval(timer);
console.log(JSON.stringify({ summarise: t1 - t0, render: t2 - t1, cpu: (cpu.user + cpu.system) / 1000, baseline, peak, comment: comment.length, summaryBytes: Buffer.byteLength(full), changes: summary.changes.length }));
`,
);

const results: Array<Record<string, number>> = [];
for (let i = 0; i < RUNS; i++) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', worker], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  results.push(JSON.parse(r.stdout.trim().split('\n').pop() as string) as Record<string, number>);
}
rmSync(dir, { recursive: true, force: true });

const m = (k: string) => median(results.map((r) => r[k] as number));
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
const wall = m('summarise') + m('render');
const growth = m('peak') - m('baseline');
printTable(
  `Summarising a ${RESOURCES.toLocaleString('en')}-resource JSON plan (${mb(size)}); median of ${RUNS} fresh processes`,
  ['measure', 'value', 'target'],
  [
    ['stream + summarise + plan-id (wall)', `${m('summarise').toFixed(0)} ms`, ''],
    ['render comment + job summary (wall)', `${m('render').toFixed(0)} ms`, ''],
    ['total wall time', `${wall.toFixed(0)} ms`, '< 2000 ms'],
    ['total CPU time (user + system)', `${m('cpu').toFixed(0)} ms`, ''],
    ['peak RSS above the process baseline', `${mb(growth)} (${(growth / size).toFixed(2)}× the file)`, '< 3× the file'],
    ['peak RSS of the whole process', `${mb(m('peak'))} (${(m('peak') / size).toFixed(2)}× the file)`, ''],
    ['PR comment', `${m('comment').toLocaleString('en')} characters`, '≤ 65,536'],
    ['job summary', `${mb(m('summaryBytes'))}`, '≤ 1 MiB'],
  ],
);
