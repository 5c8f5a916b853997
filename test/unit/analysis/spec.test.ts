import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultAnalysisSpec } from '../../../src/analysis/default-spec.js';
import { parseAnalysisSpec, placeholdersOf, type ParseSpecOptions } from '../../../src/analysis/spec.js';
import { parseQuantity } from '../../../src/analysis/spec-reader.js';
import { UserError } from '../../../src/util/errors.js';

function error(input: string, options?: ParseSpecOptions): UserError {
  try {
    parseAnalysisSpec(input, options);
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error(`expected a UserError for:\n${input}`);
}

const ONE_METRIC = (judge: string, extra = '') => `
metrics:
  - name: latency
    provider: prometheus
    query: histogram_quantile(0.95, sum by (le) (rate(h_bucket{deployment="{{deployment}}"}[{{range}}])))
${extra}    judge: ${judge}
`;

describe('parseAnalysisSpec', () => {
  it('reads a full spec in YAML with every field', () => {
    const spec = parseAnalysisSpec(`
interval: 15s
failure-limit: 3
error-limit: 5
lookback: 5m
on-inconclusive: extend
max-extension: 4m
step: 20s
provider: prometheus
min-count: 50
metrics:
  - name: error-rate
    query: sum(rate(errors{d="{{deployment}}"}[{{range}}])) / sum(rate(requests{d="{{deployment}}"}[{{range}}]))
    count-query: sum(increase(requests{d="{{deployment}}"}[{{range}}]))
    judge: { threshold: { max: 1% } }
  - name: p95
    provider: cloudwatch
    query: alb:p95-latency
    step: 60s
    min-count: 0
    judge:
      threshold: { max: 500ms, min: 1ms }
  - name: p95-vs-baseline
    query: q
    unit: seconds
    judge:
      mann-whitney: { confidence: 99%, min-samples: 20, direction: both, tolerance: 5% }
  - name: throughput
    query: q2
    judge:
      relative: { tolerance: 0.2, margin: 3, direction: decrease }
`);
    expect(spec).toMatchObject({
      intervalMs: 15_000,
      failureLimit: 3,
      errorLimit: 5,
      lookbackMs: 300_000,
      onInconclusive: 'extend',
      maxExtensionMs: 240_000,
      source: 'inline',
    });
    const [errors, p95, mw, throughput] = spec.metrics;
    expect(errors).toMatchObject({
      provider: 'prometheus',
      minCount: 50,
      stepSeconds: 20,
      unit: 'ratio',
      judge: { kind: 'threshold', max: 0.01 },
    });
    expect(errors?.countQuery).toContain('increase(requests');
    expect(p95).toMatchObject({
      provider: 'cloudwatch',
      minCount: 0,
      stepSeconds: 60,
      unit: 'seconds',
      judge: { kind: 'threshold', max: 0.5, min: 0.001 },
    });
    expect(mw).toMatchObject({
      unit: 'seconds',
      judge: { kind: 'mann-whitney', confidence: 0.99, minSamples: 20, direction: 'both', tolerance: 0.05 },
    });
    expect(throughput).toMatchObject({
      unit: 'none',
      judge: { kind: 'relative', tolerance: 0.2, margin: 3, direction: 'decrease' },
    });
  });

  it('fills defaults: 1m interval, failure-limit 2, error-limit 3, stop on inconclusive, 60s step', () => {
    const spec = parseAnalysisSpec(ONE_METRIC('{ mann-whitney: {} }'));
    expect(spec).toMatchObject({
      intervalMs: 60_000,
      failureLimit: 2,
      errorLimit: 3,
      onInconclusive: 'stop',
      maxExtensionMs: 600_000,
    });
    for (const provider of ['cloudwatch', 'prometheus', 'cloud-monitoring'])
      expect(parseAnalysisSpec('', { defaultProvider: provider }).errorLimit).toBe(3);
    expect(parseAnalysisSpec('error-limit: "7"\n' + ONE_METRIC('{ relative: {} }')).errorLimit).toBe(7);
    expect(spec.lookbackMs).toBeUndefined();
    expect(spec.metrics[0]).toMatchObject({
      minCount: 0,
      stepSeconds: 60,
      judge: { confidence: 0.95, minSamples: 10, direction: 'increase', tolerance: 0 },
    });
    expect(parseAnalysisSpec(ONE_METRIC('{ relative: {} }')).metrics[0]?.judge).toEqual({
      kind: 'relative',
      tolerance: 0.1,
      margin: 0,
      direction: 'increase',
    });
  });

  it('reads JSON, and a file relative to the workspace', () => {
    const json = parseAnalysisSpec(
      '{"interval": "20s", "metrics": [{"name": "e", "provider": "cloudwatch", "query": "alb:error-rate", "judge": {"threshold": {"max": 0.02}}}]}',
    );
    expect(json.intervalMs).toBe(20_000);
    expect(json.metrics[0]?.judge).toEqual({ kind: 'threshold', max: 0.02 });

    const dir = mkdtempSync(join(tmpdir(), 'spec-'));
    writeFileSync(join(dir, 'analysis.yml'), ONE_METRIC('{ threshold: { max: 0.4 } }'));
    const fromFile = parseAnalysisSpec('analysis.yml', { workspace: dir });
    expect(fromFile.source).toBe('analysis.yml');
    expect(fromFile.metrics[0]?.name).toBe('latency');
    expect(parseAnalysisSpec(join(dir, 'analysis.yml')).metrics).toHaveLength(1);
  });

  it('uses the platform SLO when the input is empty or "default"', () => {
    for (const input of ['', '  ', 'default']) {
      const spec = parseAnalysisSpec(input, { defaultProvider: 'cloudwatch' });
      expect(spec.source).toBe('default (cloudwatch)');
      expect(spec.metrics.map((m) => [m.name, m.query, m.judge])).toEqual([
        ['error-rate', 'alb:error-rate', { kind: 'threshold', max: 0.01 }],
        ['p95-latency', 'alb:p95-latency', { kind: 'threshold', max: 0.5 }],
      ]);
      expect(spec.metrics.every((m) => m.minCount === 100)).toBe(true);
    }
    const prom = parseAnalysisSpec('', {
      defaultProvider: 'prometheus',
      prometheus: { selector: 'job="web", track="{{track}}"' },
    });
    expect(prom.intervalMs).toBe(30_000);
    expect(prom.metrics[0]?.query).toBe(
      '(sum(rate(http_requests_total{job="web", track="{{track}}", code=~"5.."}[{{range}}])) or vector(0)) / sum(rate(http_requests_total{job="web", track="{{track}}"}[{{range}}]))',
    );
    expect(prom.metrics[1]?.query).toBe(
      'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="web", track="{{track}}"}[{{range}}])))',
    );
    expect(
      prom.metrics.every(
        (m) => m.countQuery === 'sum(increase(http_requests_total{job="web", track="{{track}}"}[{{range}}]))',
      ),
    ).toBe(true);
    expect(error('').message).toContain("Input 'analysis' is empty");
    const cm = parseAnalysisSpec('', {
      defaultProvider: 'cloud-monitoring',
      cloudMonitoring: { selector: 'metric.labels.job="web"' },
    });
    expect(cm.intervalMs).toBe(60_000);
    expect(cm.metrics.map((m) => [m.name, m.query, m.countQuery])).toEqual([
      [
        'error-rate',
        'metric.type="prometheus.googleapis.com/http_requests_total/counter" AND metric.labels.job="web" AND metric.labels.code=monitoring.regex.full_match("5..") | ALIGN_RATE | REDUCE_SUM / metric.type="prometheus.googleapis.com/http_requests_total/counter" AND metric.labels.job="web" | ALIGN_RATE | REDUCE_SUM',
        undefined,
      ],
      [
        'p95-latency',
        'metric.type="prometheus.googleapis.com/http_request_duration_seconds/histogram" AND metric.labels.job="web" | ALIGN_DELTA | REDUCE_PERCENTILE_95',
        'metric.type="prometheus.googleapis.com/http_requests_total/counter" AND metric.labels.job="web" | ALIGN_DELTA | REDUCE_SUM',
      ],
    ]);
    expect(() => defaultAnalysisSpec('datadog')).toThrow("no default analysis for the 'datadog' provider");
  });

  it.each(
    (
      [
        ['metrics: []', 'metrics is empty'],
        ['interval: 30s', 'metrics is missing'],
        ['interval: 5s\n' + ONE_METRIC('{ relative: {} }'), 'interval must be at least 10s, not 5s'],
        ['interval: soon\n' + ONE_METRIC('{ relative: {} }'), "interval must be a duration, not 'soon'"],
        ['failure-limit: 0\n' + ONE_METRIC('{ relative: {} }'), 'failure-limit must be between 1 and 100, not 0'],
        ['failureLimit: 3\n' + ONE_METRIC('{ relative: {} }'), 'failureLimit is not a known field'],
        ['error-limit: 0\n' + ONE_METRIC('{ relative: {} }'), 'error-limit must be between 1 and 100, not 0'],
        ['error-limit: 101\n' + ONE_METRIC('{ relative: {} }'), 'error-limit must be between 1 and 100, not 101'],
        ['error-limit: 2.5\n' + ONE_METRIC('{ relative: {} }'), 'error-limit must be a whole number, not 2.5'],
        ['error-limit: never\n' + ONE_METRIC('{ relative: {} }'), "error-limit must be a whole number, not 'never'"],
        ['errorLimit: 3\n' + ONE_METRIC('{ relative: {} }'), 'errorLimit is not a known field'],
        [
          'max-extension: 5m\n' + ONE_METRIC('{ relative: {} }'),
          'max-extension only applies with on-inconclusive: extend',
        ],
        [
          'on-inconclusive: ignore\n' + ONE_METRIC('{ relative: {} }'),
          'on-inconclusive must be one of stop, continue, extend',
        ],
        [ONE_METRIC('{ threshold: { max: fast } }'), "metrics[0].judge.threshold.max must be a number, not 'fast'"],
        [ONE_METRIC('{ threshold: {} }'), 'metrics[0].judge.threshold needs max or min'],
        [ONE_METRIC('{ threshold: { max: 1, min: 2 } }'), 'metrics[0].judge.threshold.min (2) must be below max (1)'],
        [ONE_METRIC('{ threshold: { maximum: 1 } }'), 'metrics[0].judge.threshold.maximum is not a known field'],
        [
          ONE_METRIC('{ mann-whitney: { confidence: 1.5 } }'),
          'metrics[0].judge.mann-whitney.confidence must be a fraction above 50% to 99.99%',
        ],
        [
          ONE_METRIC('{ mann-whitney: { min-samples: 2 } }'),
          'metrics[0].judge.mann-whitney.min-samples must be between 3 and 100000, not 2',
        ],
        [
          ONE_METRIC('{ mann-whitney: { direction: up } }'),
          "metrics[0].judge.mann-whitney.direction must be one of increase, decrease, both, not 'up'",
        ],
        [ONE_METRIC('{ relative: { margin: -1 } }'), 'metrics[0].judge.relative.margin must not be negative'],
        [
          ONE_METRIC('{ threshold: { max: 1 }, relative: {} }'),
          'metrics[0].judge names 2 judges (threshold, relative)',
        ],
        [ONE_METRIC('{ ttest: {} }'), 'metrics[0].judge.ttest is not a known field'],
        [ONE_METRIC('{ relative: {} }', '    step: 2s\n'), 'metrics[0].step must be at least 10s, not 2s'],
        ['metrics:\n  - name: a\n    query: q\n    judge: { relative: {} }', 'metrics[0].provider is missing'],
        [
          'metrics:\n  - name: a b\n    provider: p\n    query: q\n    judge: { relative: {} }',
          'metrics[0].name must be letters, digits',
        ],
        [
          'metrics:\n  - name: a\n    provider: p\n    query: q {{ a-b }}\n    judge: { relative: {} }',
          "metrics[0].query has a placeholder '{{a-b}}'",
        ],
        [
          'metrics:\n  - { name: a, provider: p, query: q, judge: { relative: {} } }\n  - { name: a, provider: p, query: r, judge: { relative: {} } }',
          "metrics[1].name repeats 'a'",
        ],
        ['metrics:\n  - name: a\n   provider: p', 'is not valid YAML or JSON'],
        ['- name: a', 'the top level must be a mapping'],
      ] as Array<[string, string]>
    ).map(([input, message]) => [message, input]),
  )('names the field and says what to write: %s', (message, input) => {
    const err = error(input);
    expect(err.message).toContain(message);
    expect(err.hint).toBeTruthy();
  });

  it('suggests the kebab-case spelling of a mistyped key', () => {
    expect(error('failureLimit: 3\n' + ONE_METRIC('{ relative: {} }')).hint).toContain("Did you mean 'failure-limit'?");
    expect(error('consecutive-error-limit: 3\n' + ONE_METRIC('{ relative: {} }')).hint).toContain('error-limit');
    expect(error('error_limit: 3\n' + ONE_METRIC('{ relative: {} }')).hint).toContain("Did you mean 'error-limit'?");
    expect(error(ONE_METRIC('{ mann-whitney: { min_samples: 3 } }')).hint).toContain("Did you mean 'min-samples'?");
    expect(error(ONE_METRIC('{ threshold: { mx: 3 } }')).hint).toContain("Did you mean 'max'?");
  });

  it('says when a file path does not exist', () => {
    const err = error('ci/analysis.yml', { workspace: '/nonexistent' });
    expect(err.message).toContain(
      'names a file that does not exist: ci/analysis.yml (looked for /nonexistent/ci/analysis.yml)',
    );
  });

  it('checks providers and placeholders against what the caller supplies, when told', () => {
    expect(error(ONE_METRIC('{ relative: {} }'), { providers: ['cloudwatch'] }).message).toContain(
      "metrics[0].provider is 'prometheus', which is not available here",
    );
    expect(error(ONE_METRIC('{ relative: {} }'), { labels: ['targetGroup', 'loadBalancer'] }).message).toContain(
      'metrics[0].query uses {{deployment}}, which this rollout does not supply',
    );
    expect(
      parseAnalysisSpec(ONE_METRIC('{ relative: {} }'), { labels: ['deployment'], providers: ['prometheus'] }).metrics,
    ).toHaveLength(1);
  });

  it('reads quantities as numbers, percentages and durations', () => {
    expect(parseQuantity(0.5)).toEqual({ value: 0.5 });
    expect(parseQuantity('2.5%')).toEqual({ value: 0.025, unit: 'ratio' });
    expect(parseQuantity('500ms')).toEqual({ value: 0.5, unit: 'seconds' });
    expect(parseQuantity('1.5s')).toEqual({ value: 1.5, unit: 'seconds' });
    expect(parseQuantity('42')).toEqual({ value: 42 });
    expect(parseQuantity('fast')).toBeUndefined();
    expect(placeholdersOf('a{{x}} {{ y }} {{x}}')).toEqual(['x', 'y']);
  });
});
