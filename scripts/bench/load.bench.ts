/**
 * The synthetic load generator (`boundedLoad`, src/analysis/load.ts): the rate it asks
 * for against the rate a loopback server actually served, per side, and what it costs the
 * runner in CPU. The server runs in a child process so that `process.cpuUsage()` here is
 * the generator's alone (plus node's idle share).
 *
 * 200 rps is above LOAD_CAPS.rps (50 per side): `buildLoadSpec` refuses it, so that row
 * measures the generator itself with a spec built directly, never something a user can ask.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { boundedLoad, LOAD_CAPS, type LoadSpec } from '../../src/analysis/load.js';
import { median, printTable } from './lib.js';

const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 5);
const RUNS = Number(process.env.BENCH_RUNS_LOAD ?? 3);

// A loopback server that answers 200 at once and counts answers per side (x-side header).
const serverSource = `
const http = require('node:http');
const counts = {};
const server = http.createServer((req, res) => {
  if (req.url === '/counts') { res.end(JSON.stringify(counts)); return; }
  if (req.url === '/reset') { for (const k of Object.keys(counts)) delete counts[k]; res.end('{}'); return; }
  const side = req.headers['x-side'] || 'none';
  counts[side] = (counts[side] || 0) + 1;
  res.end('ok');
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;
const child = spawn(process.execPath, ['-e', serverSource], { stdio: ['ignore', 'pipe', 'inherit'] });
const [first] = (await once(child.stdout, 'data')) as [Buffer];
const base = `http://127.0.0.1:${first.toString().trim()}`;
const counts = async (path: string) => (await (await fetch(`${base}${path}`)).json()) as Record<string, number>;

const sides = [
  { side: 'canary', baseUrl: base, headers: { 'x-side': 'canary' } },
  { side: 'stable', baseUrl: base, headers: { 'x-side': 'stable' } },
];
// Warm up fetch and the JIT, then measure what this process burns doing nothing.
await boundedLoad({
  rps: 20,
  concurrency: 4,
  totalRequests: 1000,
  paths: ['/'],
  headers: {},
  timeoutMs: 5000,
  urls: {},
}).run(sides, 2000);
const idleCpu = process.cpuUsage();
await new Promise((r) => setTimeout(r, 2000));
const idle = process.cpuUsage(idleCpu);
const idlePct = ((idle.user + idle.system) / 1000 / 2000) * 100;

const rows: string[][] = [];
for (const rps of [10, 50, 200]) {
  const spec: LoadSpec = {
    rps,
    concurrency: LOAD_CAPS.concurrency,
    totalRequests: 1_000_000,
    paths: ['/health', '/api/config'],
    urls: {},
    headers: {},
    timeoutMs: 5000,
  };
  const served: number[] = [];
  const cpuPer1000: number[] = [];
  const core: number[] = [];
  let skipped = 0;
  for (let i = 0; i < RUNS; i++) {
    await counts('/reset');
    const load = boundedLoad(spec);
    const cpu = process.cpuUsage();
    const start = performance.now();
    await load.run(sides, SECONDS * 1000);
    const wallMs = performance.now() - start;
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1000;
    const got = await counts('/counts');
    const sent = Object.values(load.counts()).reduce((n, c) => n + c.sent, 0);
    const asked = rps * SECONDS * 2;
    skipped += asked - sent;
    served.push(((got.canary ?? 0) + (got.stable ?? 0)) / 2 / SECONDS);
    cpuPer1000.push((cpuMs / Math.max(sent, 1)) * 1000);
    core.push((cpuMs / wallMs) * 100);
  }
  rows.push([
    `${rps}${rps > LOAD_CAPS.rps ? ' (above the cap: spec built directly)' : ''}`,
    `${median(served).toFixed(1)} rps`,
    `${((median(served) / rps) * 100).toFixed(1)}%`,
    String(skipped),
    `${median(cpuPer1000).toFixed(0)} ms`,
    `${median(core).toFixed(1)}%`,
  ]);
}
printTable(
  `Load generator: asked vs served per side (2 sides, ${SECONDS} s, median of ${RUNS} runs; CPU of the generator's process; idle: ${idlePct.toFixed(1)}% of a core)`,
  [
    'asked (rps per side)',
    'served per side',
    'served / asked',
    'not sent (all runs)',
    'CPU per 1000 requests',
    'of one core',
  ],
  rows,
);

child.kill();
