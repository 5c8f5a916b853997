import { describe, expect, it } from '@jest/globals';
import { analysisReport, renderAnalysisMarkdown } from '../../../src/analysis/report.js';
import { parseAnalysisSpec } from '../../../src/analysis/spec.js';
import type { AnalysisRun, BakeResult, CheckResult } from '../../../src/analysis/types.js';

const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);

function run(endS: number, checks: CheckResult[]): AnalysisRun {
  const verdict = checks.some((c) => c.verdict === 'fail')
    ? 'fail'
    : checks.some((c) => c.verdict === 'inconclusive')
      ? 'inconclusive'
      : 'pass';
  return {
    at: new Date(T0 + endS * 1000).toISOString(),
    window: { start: new Date(T0).toISOString(), end: new Date(T0 + endS * 1000).toISOString() },
    verdict,
    checks,
  };
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
    runs: [
      run(30, [errorRate(0.002, 'pass'), latency(0.11, 0.1, 'pass')]),
      run(60, [errorRate(0.03, 'fail')]),
      run(90, [errorRate(0.03, 'fail'), latency(0.31, 0.1, 'fail')]),
    ],
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
    expect(md).toContain(
      'Spec: inline; every 30s, fails after 2 consecutive failed runs or 3 consecutive runs with a metrics backend error; inconclusive → stop.',
    );
    expect(md).not.toContain('backend error (');
    expect(md).toContain('Mann-Whitney U vs baseline, increase, confidence 99%, ≥ 10 samples');
    expect(md).toContain('≤ 1%');
  });

  it('shows backend errors apart from too little data, in the timeline, the tally and the JSON', () => {
    const down: CheckResult = {
      name: 'error-rate',
      verdict: 'error',
      reason: 'error-rate: prometheus query failed: Prometheus at http://p:9090 is unreachable (ECONNREFUSED)',
      error: { source: 'prometheus', message: 'Prometheus at http://p:9090 is unreachable (ECONNREFUSED)' },
    };
    const thin: CheckResult = {
      name: 'error-rate',
      verdict: 'inconclusive',
      reason: 'error-rate: too little traffic to judge (canary 3 requests; min-count 100)',
      canary: 0,
      unit: 'ratio',
    };
    const errorRun = (endS: number): AnalysisRun => ({ ...run(endS, [down]), verdict: 'error' });
    const failed: BakeResult = {
      verdict: 'fail',
      reason: 'The metrics backend failed in 3 consecutive runs (error-limit 3)',
      runs: [run(30, [thin]), errorRun(60), errorRun(90), errorRun(120)],
      backendFailure: {
        sources: ['prometheus'],
        consecutive: 3,
        message: 'prometheus: Prometheus at http://p:9090 is unreachable (ECONNREFUSED)',
      },
    };
    const md = renderAnalysisMarkdown(failed, { spec: SPEC });
    expect(md).toContain('| 1 | +30s | ❔ inconclusive | ❔ 0% |');
    expect(md).toContain('| 2 | +1m | ⚠️ error | ⚠️ error |');
    expect(md).toContain(
      '⚠️ 3 of 4 runs had a metrics backend error (the backend failed to answer; not low traffic). ❔ 1 of 4 runs had too little data to judge.',
    );
    expect(md).toContain('| error-rate | ⚠️ error | no data |');
    const report = analysisReport(failed, SPEC);
    expect(report.tally).toEqual({ runs: 4, pass: 0, fail: 0, inconclusive: 1, error: 3, withBackendError: 3 });
    expect(report.backendFailure).toEqual(failed.backendFailure);
    expect(report.runs[1]?.checks[0]).toMatchObject({ verdict: 'error', error: { source: 'prometheus' } });
  });

  it('keeps long timelines short, showing the first and last runs', () => {
    const many: BakeResult = {
      verdict: 'pass',
      reason: 'ok',
      runs: Array.from({ length: 50 }, (_, i) => run((i + 1) * 10, [errorRate(0, 'pass')])),
    };
    const md = renderAnalysisMarkdown(many, { maxRuns: 10 });
    const rows = md.split('\n').filter((l) => /^\| (\d+|…) \|/.test(l));
    expect(rows.map((r) => r.split('|')[1]?.trim())).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
      '…',
      '46',
      '47',
      '48',
      '49',
      '50',
    ]);
    expect(md).toContain('40 runs not shown');
  });

  it('builds the JSON report with the spec and every run', () => {
    const report = analysisReport(result, SPEC);
    expect(report).toMatchObject({
      version: 1,
      verdict: 'fail',
      reason: result.reason,
      spec: { source: 'inline', interval: '30s', failureLimit: 2, errorLimit: 3, onInconclusive: 'stop' },
    });
    expect(report.tally).toEqual({ runs: 3, pass: 1, fail: 2, inconclusive: 0, error: 0, withBackendError: 0 });
    expect(report.backendFailure).toBeUndefined();
    expect(report.spec?.metrics).toEqual([
      { name: 'error-rate', provider: 'cloudwatch', query: 'alb:error-rate', judge: 'threshold: ≤ 1%' },
      {
        name: 'latency',
        provider: 'prometheus',
        query: 'histogram_quantile(0.95, x{a="{{deployment}}"})',
        judge: 'mann-whitney: Mann-Whitney U vs baseline, increase, confidence 99%, ≥ 10 samples',
      },
    ]);
    expect(JSON.parse(JSON.stringify(report)).runs).toEqual(result.runs);
  });
});
