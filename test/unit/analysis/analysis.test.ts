import { describe, expect, it } from '@jest/globals';
import { createAnalysis } from '../../../src/analysis/analysis.js';
import { parseAnalysisSpec } from '../../../src/analysis/spec.js';
import type {
  AnalysisRun,
  ExtraCheck,
  MetricProvider,
  MetricQuery,
  MetricResult,
  Subjects,
} from '../../../src/analysis/types.js';
import { UserError } from '../../../src/util/errors.js';
import { FakeClock } from '../../support/fake-clock.js';

/** A provider answering from a function, recording every query it was asked. */
function provider(
  answer: (q: MetricQuery) => MetricResult | Promise<MetricResult>,
  name = 'metrics',
): MetricProvider & { asked: MetricQuery[] } {
  const asked: MetricQuery[] = [];
  return {
    name,
    asked,
    async query(q) {
      asked.push(q);
      return answer(q);
    },
  };
}

const SUBJECTS: Subjects = { canary: { deployment: 'web-canary' }, baseline: { deployment: 'web-stable' } };
const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);
const window = (startS: number, endS: number) => ({
  start: new Date(T0 + startS * 1000),
  end: new Date(T0 + endS * 1000),
});

const THRESHOLD_SPEC = `
interval: 30s
failure-limit: 2
metrics:
  - name: error-rate
    provider: metrics
    query: errors{d="{{deployment}}"}[{{range}}]
    judge: { threshold: { max: 1% } }
`;

describe('createAnalysis', () => {
  it('refuses a spec that names a provider that was not supplied', () => {
    const spec = parseAnalysisSpec(THRESHOLD_SPEC.replace('provider: metrics', 'provider: prometheus'));
    const err = (() => {
      try {
        createAnalysis(spec, { providers: { cloudwatch: provider(() => ({ value: 0, samples: [] }), 'cloudwatch') } });
      } catch (e) {
        return e as UserError;
      }
    })();
    expect(err).toBeInstanceOf(UserError);
    expect(err?.message).toContain(
      "metrics[0] (error-rate) uses the 'prometheus' provider, which is not available here",
    );
    expect(err?.hint).toContain('Use one of: cloudwatch');
  });

  it('exposes interval and failure limit from the spec', () => {
    const analysis = createAnalysis(parseAnalysisSpec(THRESHOLD_SPEC), {
      providers: { metrics: provider(() => ({ value: 0, samples: [] })) },
    });
    expect(analysis.intervalMs).toBe(30_000);
    expect(analysis.failureLimit).toBe(2);
    expect(analysis.errorLimit).toBe(3);
  });
});

describe('Analysis.run', () => {
  it('fills placeholders per side and judges the canary against a threshold, with the numbers', async () => {
    const p = provider((q) => ({ value: q.query.includes('web-canary') ? 0.032 : 0.001, samples: [], count: 412 }));
    const analysis = createAnalysis(parseAnalysisSpec(THRESHOLD_SPEC), { providers: { metrics: p } });
    const run = await analysis.run(SUBJECTS, window(0, 300));
    expect(p.asked).toHaveLength(1);
    expect(p.asked[0]).toMatchObject({
      query: 'errors{d="web-canary"}[300s]',
      need: 'value',
      stepSeconds: 60,
      labels: { deployment: 'web-canary' },
    });
    expect(run.verdict).toBe('fail');
    expect(run.window).toEqual({ start: new Date(T0).toISOString(), end: new Date(T0 + 300_000).toISOString() });
    expect(run.checks).toEqual([
      {
        name: 'error-rate',
        verdict: 'fail',
        reason: 'error-rate 3.2% > 1% (412 requests)',
        judge: 'threshold',
        unit: 'ratio',
        canary: 0.032,
        count: { canary: 412 },
        threshold: 0.01,
      },
    ]);
  });

  it('passes at the threshold itself (≤ is within the SLO)', async () => {
    const analysis = createAnalysis(parseAnalysisSpec(THRESHOLD_SPEC), {
      providers: { metrics: provider(() => ({ value: 0.01, samples: [] })) },
    });
    const run = await analysis.run(SUBJECTS, window(0, 60));
    expect(run.verdict).toBe('pass');
    expect(run.checks[0]?.reason).toBe('error-rate 1% ≤ 1%');
  });

  it('is inconclusive, not pass, when there is too little traffic (count from count-query)', async () => {
    const spec = parseAnalysisSpec(`
metrics:
  - name: error-rate
    provider: metrics
    query: ratio{d="{{deployment}}"}[{{range}}]
    count-query: requests{d="{{deployment}}"}[{{range}}]
    min-count: 100
    judge: { threshold: { max: 1% } }
`);
    const p = provider((q) =>
      q.query.startsWith('requests') ? { value: 12, samples: [] } : { value: 0, samples: [] },
    );
    const run = await createAnalysis(spec, { providers: { metrics: p } }).run(SUBJECTS, window(0, 120));
    expect(p.asked.map((q) => q.query).sort()).toEqual([
      'ratio{d="web-canary"}[120s]',
      'requests{d="web-canary"}[120s]',
    ]);
    expect(run.verdict).toBe('inconclusive');
    expect(run.checks[0]).toMatchObject({ verdict: 'inconclusive', canary: 0, count: { canary: 12 } });
    expect(run.checks[0]?.reason).toBe('error-rate: too little traffic to judge (canary 12 requests; min-count 100)');
  });

  it('is inconclusive when the provider has no data yet', async () => {
    const run = await createAnalysis(parseAnalysisSpec(THRESHOLD_SPEC), {
      providers: { metrics: provider(() => ({ value: undefined, samples: [] })) },
    }).run(SUBJECTS, window(0, 30));
    expect(run.verdict).toBe('inconclusive');
    expect(run.checks[0]?.reason).toBe('error-rate: no data for the canary yet');
  });

  it('flags a latency regression with Mann-Whitney on the samples, and passes an equal one', async () => {
    const spec = parseAnalysisSpec(`
metrics:
  - name: latency
    provider: metrics
    query: p95{d="{{deployment}}"}[{{range}}]
    step: 10s
    judge: { mann-whitney: { confidence: 95%, min-samples: 6 } }
`);
    const slow = [0.31, 0.29, 0.33, 0.3, 0.35, 0.28, 0.32];
    const fast = [0.11, 0.12, 0.1, 0.13, 0.09, 0.12, 0.11];
    const p = provider((q) => ({ value: undefined, samples: q.query.includes('canary') ? slow : fast }));
    const run = await createAnalysis(spec, { providers: { metrics: p } }).run(SUBJECTS, window(0, 70));
    expect(p.asked.map((q) => [q.query, q.need])).toEqual([
      ['p95{d="web-canary"}[10s]', 'samples'],
      ['p95{d="web-stable"}[10s]', 'samples'],
    ]);
    const check = run.checks[0];
    expect(check).toMatchObject({
      verdict: 'fail',
      judge: 'mann-whitney',
      canary: 0.31,
      baseline: 0.11,
      samples: { canary: 7, baseline: 7 },
      threshold: 0.05,
    });
    // Complete separation of 7 vs 7: the exact one-sided p-value is 1 / C(14, 7).
    expect(check?.pValue).toBeCloseTo(1 / 3432, 12);
    expect(check?.reason).toContain('canary higher than baseline');

    const same = provider(() => ({ value: undefined, samples: fast }));
    const ok = await createAnalysis(spec, { providers: { metrics: same } }).run(SUBJECTS, window(0, 70));
    expect(ok.checks[0]).toMatchObject({ verdict: 'pass', pValue: expect.any(Number) });
    expect(ok.checks[0]?.reason).toContain('no significant increase');
  });

  it('is inconclusive with fewer samples than min-samples, and without a baseline', async () => {
    const spec = parseAnalysisSpec(`
metrics:
  - { name: latency, provider: metrics, query: 'q{{deployment}}', judge: { mann-whitney: { min-samples: 10 } } }
  - { name: errors, provider: metrics, query: 'e{{deployment}}', judge: { relative: { tolerance: 10% } } }
`);
    const analysis = createAnalysis(spec, {
      providers: { metrics: provider(() => ({ value: 1, samples: [1, 2, 3] })) },
    });
    const run = await analysis.run(SUBJECTS, window(0, 60));
    expect(run.checks.map((c) => [c.verdict, c.reason])).toEqual([
      ['inconclusive', 'latency: 3 canary and 3 baseline samples, need 10 each'],
      ['pass', 'errors canary 1 within 10% of baseline 1'],
    ]);
    const rolling = await analysis.run({ canary: { deployment: 'web' } }, window(0, 60));
    expect(rolling.verdict).toBe('inconclusive');
    expect(rolling.checks.every((c) => c.reason.includes('no baseline to compare with'))).toBe(true);
  });

  it('judges relative to the baseline with tolerance and margin', async () => {
    const spec = parseAnalysisSpec(`
metrics:
  - { name: p95, provider: metrics, query: 'q{{deployment}}', judge: { relative: { tolerance: 20%, margin: 10ms } } }
`);
    const values = { canary: 0.5, baseline: 0.4 };
    const analysis = createAnalysis(spec, {
      providers: {
        metrics: provider((q) => ({
          value: q.query.includes('canary') ? values.canary : values.baseline,
          samples: [],
        })),
      },
    });
    const fail = await analysis.run(SUBJECTS, window(0, 60));
    expect(fail.checks[0]).toMatchObject({ verdict: 'fail', canary: 0.5, baseline: 0.4, unit: 'seconds' });
    expect(fail.checks[0]?.threshold).toBeCloseTo(0.49, 10);
    expect(fail.checks[0]?.reason).toBe('p95 canary 500 ms > baseline 400 ms + 20% + 10 ms (limit 490 ms)');
    values.canary = 0.485;
    expect((await analysis.run(SUBJECTS, window(0, 60))).verdict).toBe('pass');
  });

  it('makes a check an error (not inconclusive) when its query fails for a passing reason, and throws user mistakes', async () => {
    const flaky = provider(() => {
      throw new Error('Prometheus at http://p:9090 is unreachable (ECONNREFUSED)');
    });
    const run = await createAnalysis(parseAnalysisSpec(THRESHOLD_SPEC), { providers: { metrics: flaky } }).run(
      SUBJECTS,
      window(0, 60),
    );
    expect(run.verdict).toBe('error');
    expect(run.checks[0]).toMatchObject({
      verdict: 'error',
      reason: 'error-rate: metrics query failed: Prometheus at http://p:9090 is unreachable (ECONNREFUSED)',
      error: { source: 'metrics', message: 'Prometheus at http://p:9090 is unreachable (ECONNREFUSED)' },
    });

    const bad = provider(() => {
      throw new UserError('Prometheus rejected the query (bad_data): parse error');
    });
    await expect(
      createAnalysis(parseAnalysisSpec(THRESHOLD_SPEC), { providers: { metrics: bad } }).run(SUBJECTS, window(0, 60)),
    ).rejects.toThrow('bad_data');

    const ok = provider(() => ({ value: 0, samples: [] }));
    await expect(
      createAnalysis(parseAnalysisSpec(THRESHOLD_SPEC), { providers: { metrics: ok } }).run(
        { canary: { namespace: 'x' } },
        window(0, 60),
      ),
    ).rejects.toThrow(
      'metrics[0].query (error-rate), for the canary, uses {{deployment}}, which this rollout does not supply',
    );
    const minCount = parseAnalysisSpec(THRESHOLD_SPEC.replace('    judge:', '    min-count: 10\n    judge:'));
    await expect(createAnalysis(minCount, { providers: { metrics: ok } }).run(SUBJECTS, window(0, 60))).rejects.toThrow(
      'sets min-count 10, but the metrics provider gives no request count',
    );
  });

  it('includes extra checks, and makes one that throws an error; a failed check still decides the run', async () => {
    const alarm: ExtraCheck = {
      name: 'alarms',
      evaluate: async () => ({ name: 'alarms', verdict: 'fail', reason: 'alarm web-5xx is in ALARM', judge: 'alarm' }),
    };
    const broken: ExtraCheck = {
      name: 'broken',
      evaluate: async () => {
        throw new Error('throttled');
      },
    };
    const run = await createAnalysis(parseAnalysisSpec(THRESHOLD_SPEC), {
      providers: { metrics: provider(() => ({ value: 0, samples: [] })) },
      extraChecks: [alarm, broken],
    }).run(SUBJECTS, window(0, 60));
    expect(run.verdict).toBe('fail');
    expect(run.checks.map((c) => [c.name, c.verdict])).toEqual([
      ['error-rate', 'pass'],
      ['alarms', 'fail'],
      ['broken', 'error'],
    ]);
    expect(run.checks[2]).toMatchObject({
      reason: 'broken: check failed: throttled',
      error: { source: 'broken', message: 'throttled' },
    });
  });
});

describe('Analysis.bake', () => {
  /** A provider whose error rate follows a script, one value per run (the last repeats); 'down' throws as an unreachable backend does. */
  function scripted(values: Array<number | undefined | 'down'>) {
    let call = 0;
    return provider(() => {
      const v = values[Math.min(call++, values.length - 1)];
      if (v === 'down') throw new Error('Prometheus at http://p:9090 is unreachable (ECONNREFUSED)');
      return { value: v, samples: [] };
    });
  }

  async function bake(
    spec: string,
    values: Array<number | undefined | 'down'>,
    durationMs: number,
    clock = new FakeClock(T0),
  ) {
    const p = scripted(values);
    const seen: AnalysisRun[] = [];
    const result = await createAnalysis(parseAnalysisSpec(spec), { providers: { metrics: p }, clock }).bake({
      subjects: SUBJECTS,
      durationMs,
      since: new Date(T0),
      clock,
      onRun: (r) => seen.push(r),
    });
    return { result, seen, clock, asked: p.asked };
  }

  it('runs every interval with windows growing from the traffic shift, and passes', async () => {
    const { result, seen, clock, asked } = await bake(THRESHOLD_SPEC, [0.001], 120_000);
    expect(result.verdict).toBe('pass');
    expect(result.runs).toHaveLength(4);
    expect(seen).toEqual(result.runs);
    expect(clock.sleeps).toEqual([30_000, 30_000, 30_000, 30_000]);
    expect(result.runs.map((r) => [r.window.start, r.window.end])).toEqual(
      [30, 60, 90, 120].map((s) => [new Date(T0).toISOString(), new Date(T0 + s * 1000).toISOString()]),
    );
    expect(asked.map((q) => q.query)).toEqual(['30s', '60s', '90s', '120s'].map((r) => `errors{d="web-canary"}[${r}]`));
    expect(result.reason).toBe('Passed: 4 runs over 2m; last run: error-rate 0.1% ≤ 1%');
  });

  it('slides the window with lookback', async () => {
    const { result } = await bake(THRESHOLD_SPEC.replace('interval: 30s', 'interval: 30s\nlookback: 1m'), [0], 120_000);
    expect(result.runs.map((r) => (Date.parse(r.window.end) - Date.parse(r.window.start)) / 1000)).toEqual([
      30, 60, 60, 60,
    ]);
  });

  it('fails as soon as failure-limit consecutive runs fail: interval × failure-limit', async () => {
    const { result, clock } = await bake(THRESHOLD_SPEC, [0.05], 600_000);
    expect(result.verdict).toBe('fail');
    expect(result.runs).toHaveLength(2);
    expect(clock.now() - T0).toBe(60_000);
    expect(result.reason).toBe('2 consecutive runs failed: error-rate 5% > 1%');
  });

  it('counts only consecutive failures: a pass resets, an inconclusive run neither counts nor resets', async () => {
    const reset = await bake(THRESHOLD_SPEC, [0.05, 0, 0.05, 0, 0.05, 0], 180_000);
    expect(reset.result.verdict).toBe('pass');
    expect(reset.result.runs.map((r) => r.verdict)).toEqual(['fail', 'pass', 'fail', 'pass', 'fail', 'pass']);
    expect(reset.result.reason).toContain('6 runs over 3m (3 failed)');

    const bridged = await bake(THRESHOLD_SPEC, [0.05, undefined, 0.05], 600_000);
    expect(bridged.result.verdict).toBe('fail');
    expect(bridged.result.runs.map((r) => r.verdict)).toEqual(['fail', 'inconclusive', 'fail']);
  });

  it('does not end on a failed run: it keeps running until a pass or the failure limit', async () => {
    const recovered = await bake(THRESHOLD_SPEC, [0, 0, 0.05, 0], 90_000);
    expect(recovered.result.verdict).toBe('pass');
    expect(recovered.result.runs.map((r) => r.verdict)).toEqual(['pass', 'pass', 'fail', 'pass']);
    expect(recovered.clock.now() - T0).toBe(120_000);

    const failed = await bake(THRESHOLD_SPEC, [0, 0, 0.05, 0.05], 90_000);
    expect(failed.result.verdict).toBe('fail');
    expect(failed.result.runs).toHaveLength(4);
  });

  it('ends inconclusive by the policy: stop, continue or extend', async () => {
    const stop = await bake(THRESHOLD_SPEC, [undefined], 60_000);
    expect(stop.result.verdict).toBe('inconclusive');
    expect(stop.result.reason).toBe('Inconclusive at the end of the bake: error-rate: no data for the canary yet');

    const cont = await bake(
      THRESHOLD_SPEC.replace('failure-limit: 2', 'failure-limit: 2\non-inconclusive: continue'),
      [undefined],
      60_000,
    );
    expect(cont.result.verdict).toBe('pass');
    expect(cont.result.reason).toContain('continuing because on-inconclusive is continue');

    const extendSpec = THRESHOLD_SPEC.replace(
      'failure-limit: 2',
      'failure-limit: 2\non-inconclusive: extend\nmax-extension: 2m',
    );
    const extended = await bake(extendSpec, [undefined, undefined, undefined, 0.002], 60_000);
    expect(extended.result.verdict).toBe('pass');
    expect(extended.result.runs).toHaveLength(4);
    expect(extended.result.reason).toBe('Passed after extending the bake: error-rate 0.2% ≤ 1%');

    const gaveUp = await bake(extendSpec, [undefined], 60_000);
    expect(gaveUp.result.verdict).toBe('inconclusive');
    expect(gaveUp.clock.now() - T0).toBe(180_000);
    expect(gaveUp.result.reason).toContain('Still inconclusive after extending the bake by 2m');
  });

  it('runs at once when the bake is shorter than the interval or already over', async () => {
    const short = await bake(THRESHOLD_SPEC, [0], 10_000);
    expect(short.result.runs).toHaveLength(1);
    expect(short.clock.sleeps).toEqual([10_000]);

    const late = new FakeClock(T0 + 500_000);
    const over = await bake(THRESHOLD_SPEC, [0], 60_000, late);
    expect(over.result.runs).toHaveLength(1);
    expect(late.sleeps).toEqual([]);
  });

  describe('backend errors are not low traffic', () => {
    const CONTINUE = THRESHOLD_SPEC.replace('failure-limit: 2', 'failure-limit: 2\non-inconclusive: continue');
    const EXTEND = THRESHOLD_SPEC.replace(
      'failure-limit: 2',
      'failure-limit: 2\non-inconclusive: extend\nmax-extension: 2m',
    );

    it.each([
      ['stop', THRESHOLD_SPEC],
      ['continue', CONTINUE],
      ['extend', EXTEND],
    ])(
      'fails on error-limit (3) consecutive runs with an error, with on-inconclusive %s: interval × error-limit',
      async (_policy, spec) => {
        const { result, clock } = await bake(spec, ['down'], 600_000);
        expect(result.verdict).toBe('fail');
        expect(result.runs.map((r) => r.verdict)).toEqual(['error', 'error', 'error']);
        expect(clock.now() - T0).toBe(90_000);
        expect(result.backendFailure).toEqual({
          sources: ['metrics'],
          consecutive: 3,
          message: 'metrics: Prometheus at http://p:9090 is unreachable (ECONNREFUSED)',
        });
        expect(result.reason).toBe(
          'The metrics backend failed in 3 consecutive runs (error-limit 3), so nothing judged the new version; this is an outage, not low traffic: ' +
            'metrics: Prometheus at http://p:9090 is unreachable (ECONNREFUSED). Make metrics reachable and answering from the runner, then deploy again.',
        );
      },
    );

    it('takes error-limit from the spec: 1 fails on the first error', async () => {
      const { result } = await bake(
        THRESHOLD_SPEC.replace('failure-limit: 2', 'failure-limit: 2\nerror-limit: 1'),
        [0, 'down'],
        600_000,
      );
      expect(result.verdict).toBe('fail');
      expect(result.runs.map((r) => r.verdict)).toEqual(['pass', 'error']);
      expect(result.reason).toMatch(/^The metrics backend failed in a run \(error-limit 1\)/);
    });

    it('counts only consecutive errors: a run without one resets; errors neither count as failures nor reset them', async () => {
      const recovered = await bake(THRESHOLD_SPEC, ['down', 'down', 0, 'down', 'down', 0], 180_000);
      expect(recovered.result.verdict).toBe('pass');
      expect(recovered.result.runs.map((r) => r.verdict)).toEqual(['error', 'error', 'pass', 'error', 'error', 'pass']);
      expect(recovered.result.reason).toBe(
        'Passed: 6 runs over 3m (4 with a backend error); last run: error-rate 0% ≤ 1%',
      );

      const failing = await bake(THRESHOLD_SPEC, [0.05, 'down', 0.05], 600_000);
      expect(failing.result.verdict).toBe('fail');
      expect(failing.result.backendFailure).toBeUndefined();
      expect(failing.result.reason).toBe('2 consecutive runs failed: error-rate 5% > 1%');
    });

    it('never ends on an error: past the bake it runs on until a run without one decides, or error-limit fails it', async () => {
      // Errors at the end, then the backend answers: the answer decides (here a pass).
      const late = await bake(CONTINUE, [0, 'down', 'down', 0], 60_000);
      expect(late.result.runs.map((r) => r.verdict)).toEqual(['pass', 'error', 'error', 'pass']);
      expect(late.result.verdict).toBe('pass');
      expect(late.clock.now() - T0).toBe(120_000);

      // An outage that starts late in the bake: never a pass, even with on-inconclusive continue.
      for (const spec of [THRESHOLD_SPEC, CONTINUE, EXTEND]) {
        const outage = await bake(spec, [0, 'down'], 60_000);
        expect(outage.result.verdict).toBe('fail');
        expect(outage.result.runs.map((r) => r.verdict)).toEqual(['pass', 'error', 'error', 'error']);
        expect(outage.clock.now() - T0).toBe(120_000); // error-limit − 1 intervals past the bake
        expect(outage.result.backendFailure?.consecutive).toBe(3);
      }

      // After the errors, too little data: on-inconclusive decides as for any low-traffic end.
      const quiet = await bake(THRESHOLD_SPEC, ['down', 'down', undefined], 60_000);
      expect(quiet.result.verdict).toBe('inconclusive');
      expect(quiet.result.reason).toBe('Inconclusive at the end of the bake: error-rate: no data for the canary yet');
    });

    it('counts a run with an error in any check, even when another check failed it or the extra check threw', async () => {
      const alarms: ExtraCheck = {
        name: 'alarms',
        evaluate: async () => {
          throw new Error('Rate exceeded');
        },
      };
      const clock = new FakeClock(T0);
      const result = await createAnalysis(parseAnalysisSpec(THRESHOLD_SPEC), {
        providers: { metrics: scripted([0]) },
        extraChecks: [alarms],
        clock,
      }).bake({
        subjects: SUBJECTS,
        durationMs: 600_000,
        since: new Date(T0),
        clock,
      });
      expect(result.verdict).toBe('fail');
      expect(result.runs.map((r) => r.verdict)).toEqual(['error', 'error', 'error']);
      expect(result.backendFailure).toMatchObject({ sources: ['alarms'], message: 'alarms: Rate exceeded' });
    });
  });

  it("tells providers where this rollout's data begins: the first shift, or the step's when not given", async () => {
    const clock = new FakeClock(T0 + 600_000);
    const p = scripted([0]);
    const analysis = createAnalysis(
      parseAnalysisSpec(THRESHOLD_SPEC.replace('interval: 30s', 'interval: 30s\nlookback: 1m')),
      { providers: { metrics: p }, clock },
    );
    await analysis.bake({
      subjects: SUBJECTS,
      durationMs: 60_000,
      since: new Date(T0 + 600_000),
      firstShiftAt: new Date(T0 + 15_000),
      clock,
    });
    expect(p.asked.map((q) => [q.window.start.getTime() - T0, q.window.notBefore?.toISOString()])).toEqual([
      [600_000, new Date(T0 + 15_000).toISOString()],
      [600_000, new Date(T0 + 15_000).toISOString()],
    ]);
    const q = scripted([0]);
    await createAnalysis(parseAnalysisSpec(THRESHOLD_SPEC), { providers: { metrics: q }, clock }).bake({
      subjects: SUBJECTS,
      durationMs: 30_000,
      since: new Date(T0 + 700_000),
      clock,
    });
    expect(q.asked[0]?.window.notBefore).toEqual(new Date(T0 + 700_000));
  });

  it('says why a check had too little data when the provider left part of the window out', async () => {
    const note = "CloudWatch data from periods that began before this rollout's first shift left out";
    const p = provider(() => ({ value: undefined, samples: [], count: 0, excluded: note }));
    const spec = parseAnalysisSpec(THRESHOLD_SPEC.replace('    judge:', '    min-count: 10\n    judge:'));
    const run = await createAnalysis(spec, { providers: { metrics: p } }).run(SUBJECTS, window(0, 20));
    expect(run.verdict).toBe('inconclusive');
    expect(run.checks[0]?.reason).toBe(
      `error-rate: too little traffic to judge (canary 0 requests; min-count 10); ${note}`,
    );
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    const clock = new FakeClock(T0);
    const analysis = createAnalysis(parseAnalysisSpec(THRESHOLD_SPEC), {
      providers: { metrics: scripted([0]) },
      clock,
    });
    const bakePromise = analysis.bake({
      subjects: SUBJECTS,
      durationMs: 600_000,
      since: new Date(T0),
      onRun: (r) => {
        if (r.window.end === new Date(T0 + 60_000).toISOString()) controller.abort(new Error('cancelled'));
      },
      signal: controller.signal,
    });
    await expect(bakePromise).rejects.toThrow('cancelled');
  });
});
