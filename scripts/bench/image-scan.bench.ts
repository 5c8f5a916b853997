/**
 * Time to turn a Trivy report into the findings model, gate it, and write SARIF: the
 * largest real fixture, and a made report of the same schema with many findings (an
 * old, unpatched base image can have thousands).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { evaluate } from '../../src/image/gate.js';
import { parseIgnoreFile } from '../../src/image/ignore.js';
import { toSarif } from '../../src/image/sarif.js';
import { parseTrivyReport } from '../../src/image/trivy-report.js';
import { ROOT } from '../lib/actions.js';
import { kB, median, printTable } from './lib.js';

const dir = join(ROOT, 'test', 'fixtures', 'trivy');
const reports = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.includes('sarif'));
const largest = reports.map((f) => ({ f, size: statSync(join(dir, f)).size })).sort((a, b) => b.size - a.size)[0] as {
  f: string;
  size: number;
};

/** A report like centos-7's, with `count` distinct vulnerabilities across 200 packages. */
function madeReport(count: number): string {
  const base = JSON.parse(readFileSync(join(dir, 'centos-7.legacy.json'), 'utf8')) as {
    Results: Array<{ Vulnerabilities: object[] }>;
  };
  const template = base.Results[0]?.Vulnerabilities[1] as Record<string, unknown>;
  const severities = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'];
  const vulns = Array.from({ length: count }, (_, i) => ({
    ...template,
    VulnerabilityID: `CVE-2025-${String(10000 + i)}`,
    PkgName: `pkg-${i % 200}`,
    Severity: severities[i % severities.length],
    FixedVersion: i % 3 === 0 ? '' : '2.0.0',
  }));
  return JSON.stringify({ ...base, Results: [{ ...base.Results[0], Vulnerabilities: vulns }] });
}

const ignores = parseIgnoreFile(
  Array.from(
    { length: 50 },
    (_, i) => `- id: CVE-2025-${10000 + i * 7}\n  reason: accepted\n  expires: ${i % 2 ? '2099-01-01' : '2020-01-01'}`,
  ).join('\n'),
  'bench',
);

function time(text: string, name: string): string[] {
  const runs = Number(process.env.BENCH_RUNS ?? 31);
  const parse: number[] = [];
  const gate: number[] = [];
  const sarif: number[] = [];
  let findings = 0;
  for (let i = 0; i < runs; i++) {
    let t = process.hrtime.bigint();
    const report = parseTrivyReport(text, name);
    parse.push(Number(process.hrtime.bigint() - t) / 1e6);
    t = process.hrtime.bigint();
    const result = evaluate(report, {
      failOn: ['CRITICAL', 'HIGH'],
      onlyFixed: true,
      ignores,
      now: new Date('2026-11-21T00:00:00Z'),
    });
    gate.push(Number(process.hrtime.bigint() - t) / 1e6);
    t = process.hrtime.bigint();
    JSON.stringify(toSarif(report, result, ['CRITICAL', 'HIGH'], { imagePath: 'acme/web', toolVersion: '1' }));
    sarif.push(Number(process.hrtime.bigint() - t) / 1e6);
    findings = report.findings.length;
  }
  const ms = (v: number[]) => `${median(v).toFixed(2)} ms`;
  return [name, kB(Buffer.byteLength(text)), String(findings), ms(parse), ms(gate), ms(sarif)];
}

printTable(
  `Normalise, gate and SARIF (median of ${process.env.BENCH_RUNS ?? 31} runs; 50 ignore entries)`,
  ['report', 'size', 'findings', 'normalise', 'gate', 'SARIF'],
  [
    time(readFileSync(join(dir, largest.f), 'utf8'), largest.f),
    time(madeReport(2000), 'made: 2,000 vulnerabilities'),
    time(madeReport(20000), 'made: 20,000 vulnerabilities'),
  ],
);
