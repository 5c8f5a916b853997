import { describe, expect, it } from '@jest/globals';
import { analysisReport, renderAnalysisMarkdown } from '../../../src/analysis/report.js';
import { parseAnalysisSpec } from '../../../src/analysis/spec.js';
import type { AnalysisRun, BakeResult, CheckResult } from '../../../src/analysis/types.js';

const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);

function run(endS: number, checks: CheckResult[]): AnalysisRun {
  const verdict = checks.some((c) => c.verdict === 'fail') ? 'fail' : checks.some((c) => c.verdict === 'inconclusive') ? 'inconclusive' : 'pass';
  return { at: new Date(T0 + endS * 1000).toISOString(), window: { start: new Date(T0).toISOString(), end: new Date(T0 + endS * 1000).toISOString() }, verdict, checks };
}

const errorRate = (canary: number, verdict: CheckResult['verdict']): CheckResult => ({
  name: 'error-rate',
  verdict,
  reason: `error-rate ${canary * 100}% ${verdict === 'fail' ? '>' : '≤'} 1% (400 requests)`,
  judge: 'threshold',
  unit: 'ratio',
  canary,
  threshold: 0.01,
  count: { canary: 400 },
});
const latency = (canary: number, baseline: number, verdict: CheckResult['verdict']): CheckResult => ({
  name: 'p95|latency',
  verdict,
  reason: 'p95 latency',
  judge: 'mann-whitney',
  unit: 'seconds',
  canary,
  baseline,
  samples: { canary: 12, baseline: 12 },
  pValue: 0.00031,
});

const SPEC = parseAnalysisSpec(`
interval: 30s
metrics:
  - { name: error-rate, provider: cloudwatch, query: alb:error-rate, judge: { threshold: { max: 1% } } }
  - { name: latency, provider: prometheus, query: 'histogram_quantile(0.95, x{a="{{deployment}}"})', judge: { mann-whitney: { confidence: 0.99 } } }
`);

describe('analysis report', () => {
  const result: BakeResult = {
    verdict: 'fail',
    reason: '2 consecutive runs failed: error-rate 3% > 1%',
    runs: [run(30, [errorRate(0.002, 'pass'), latency(0.11, 0.1, 'pass')]), run(60, [errorRate(0.03, 'fail')]), run(90, [errorRate(0.03, 'fail'), latency(0.31, 0.1, 'fail')])],
  };

  it('renders the verdict, the timeline with canary / baseline numbers, and the last run', () => {
    const md = renderAnalysisMarkdown(result, { spec: SPEC, title: 'Canary 10%' });
    expect(md).toContain('#### Canary 10%: ❌ fail');
    // Markdown-escaped: GitHub shows "error-rate 3% > 1%".
    expect(md).toContain('2 consecutive runs failed: error-rate 3% \\> 1%');
    expect(md).toContain('| # | at | run | error-rate | p95\\|latency |');
    expect(md).toContain('| 1 | +30s | ✅ pass | ✅ 0.2% | ✅ 110 ms / 100 ms |');
    expect(md).toContain('| 2 | +1m | ❌ fail | ❌ 3% |  |');
    expect(md).toContain('| 3 | +1m30s | ❌ fail | ❌ 3% | ❌ 310 ms / 100 ms |');
    expect(md).toContain('| error-rate | ❌ fail | 3% |  | 400 |  | error-rate 3% \\> 1% (400 requests) |');
    expect(md).toContain('| p95\\|latency | ❌ fail | 310 ms | 100 ms | 12 / 12 samples | 0.00031 | p95 latency |');
    expect(md).toContain('<details><summary>Analysis spec</summary>');
    expect(md).toContain('Spec: inline; every 30s, fails after 2 consecutive failed runs; inconclusive → stop.');
    expect(md).toContain('Mann-Whitney U vs baseline, increase, confidence 99%, ≥ 10 samples');
    expect(md).toContain('≤ 1%');
  });

  it('keeps long timelines short, showing the first and last runs', () => {
    const many: BakeResult = { verdict: 'pass', reason: 'ok', runs: Array.from({ length: 50 }, (_, i) => run((i + 1) * 10, [errorRate(0, 'pass')])) };
    const md = renderAnalysisMarkdown(many, { maxRuns: 10 });
    const rows = md.split('\n').filter((l) => /^\| (\d+|…) \|/.test(l));
    expect(rows.map((r) => r.split('|')[1]?.trim())).toEqual(['1', '2', '3', '4', '5', '…', '46', '47', '48', '49', '50']);
    expect(md).toContain('40 runs not shown');
  });

  it('builds the JSON report with the spec and every run', () => {
    const report = analysisReport(result, SPEC);
    expect(report).toMatchObject({ version: 1, verdict: 'fail', reason: result.reason, spec: { source: 'inline', interval: '30s', failureLimit: 2, onInconclusive: 'stop' } });
    expect(report.spec?.metrics).toEqual([
      { name: 'error-rate', provider: 'cloudwatch', query: 'alb:error-rate', judge: 'threshold: ≤ 1%' },
      { name: 'latency', provider: 'prometheus', query: 'histogram_quantile(0.95, x{a="{{deployment}}"})', judge: 'mann-whitney: Mann-Whitney U vs baseline, increase, confidence 99%, ≥ 10 samples' },
    ]);
    expect(JSON.parse(JSON.stringify(report)).runs).toEqual(result.runs);
  });
});
