/**
 * A quiet service's canary, judged by a real Prometheus scraping loopback apps that get a
 * few real requests: with `load:` in the spec the bounded synthetic load brings both
 * sides past min-count and the bake passes; the same canary without it is inconclusive.
 * The caps are counted where they matter, at the apps.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAnalysis } from '../../src/analysis/analysis.js';
import { boundedLoad, withLoad, type LoadedBakeResult } from '../../src/analysis/load.js';
import { createPrometheusProvider } from '../../src/analysis/prometheus.js';
import { analysisReport, renderAnalysisMarkdown } from '../../src/analysis/report.js';
import { parseAnalysisSpec } from '../../src/analysis/spec.js';
import type { Subjects } from '../../src/analysis/types.js';
import { startMetricsLab, type MetricsLab } from '../support/prometheus.js';

let lab: MetricsLab;

const SEL = 'namespace="{{namespace}}", deployment="{{deployment}}"';
const SPEC = (load: string) => `
provider: prometheus
interval: 10s
min-count: 100
metrics:
  - name: error-rate
    query: (sum(rate(http_requests_total{${SEL}, code=~"5.."}[{{range}}])) or vector(0)) / sum(rate(http_requests_total{${SEL}}[{{range}}]))
    count-query: sum(increase(http_requests_total{${SEL}}[{{range}}]))
    judge: { threshold: { max: 1% } }
${load}`;

const BAKE_MS = 25_000;
const RPS = 20;
const MAX_REQUESTS = 300;

beforeAll(async () => {
  const quiet = { behaviour: { errorRate: 0, latencyMs: 5 }, rps: 0 };
  lab = await startMetricsLab({
    deployments: { 'loaded-canary': quiet, 'loaded-stable': quiet, 'still-canary': quiet, 'still-stable': quiet },
  });
}, 60_000);

afterAll(async () => {
  await lab?.stop();
});

/** A few real users: `n` requests to the app, a second apart. */
async function realRequests(name: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await (await fetch(`${lab.apps[name]?.url}/work`)).arrayBuffer();
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const subjects = (prefix: string): Subjects => ({
  canary: lab.labels(`${prefix}-canary`),
  baseline: lab.labels(`${prefix}-stable`),
});

describe('synthetic load for a quiet service, judged by a real Prometheus', () => {
  it('reaches min-count and passes with load:, is inconclusive without it, and the caps hold at the apps', async () => {
    const withLoadSpec = parseAnalysisSpec(
      SPEC(`load: { rps: ${RPS}, max-concurrency: 4, max-requests: ${MAX_REQUESTS}, paths: [/health, /work] }`),
    );
    const plainSpec = parseAnalysisSpec(SPEC(''));
    expect(withLoadSpec.load).toMatchObject({ rps: RPS, totalRequests: MAX_REQUESTS, paths: ['/health', '/work'] });
    expect(plainSpec.load).toBeUndefined();
    const providers = { prometheus: createPrometheusProvider({ url: lab.prometheus.url }) };

    const bakes: Array<Record<string, unknown>> = [];
    const loaded = withLoad(
      createAnalysis(withLoadSpec, { providers }),
      boundedLoad(withLoadSpec.load as NonNullable<typeof withLoadSpec.load>),
      () => [
        { side: 'canary', baseUrl: lab.apps['loaded-canary']?.url as string },
        { side: 'stable', baseUrl: lab.apps['loaded-stable']?.url as string },
      ],
      (_total, bake) => bakes.push(bake),
    );
    const plain = createAnalysis(plainSpec, { providers });

    const since = new Date();
    const started = Date.now();
    const [withLoadResult, plainResult] = await Promise.all([
      loaded.bake({ subjects: subjects('loaded'), durationMs: BAKE_MS, since }) as Promise<LoadedBakeResult>,
      plain.bake({ subjects: subjects('still'), durationMs: BAKE_MS, since }),
      ...['loaded-canary', 'loaded-stable', 'still-canary', 'still-stable'].map((a) => realRequests(a, 3)),
    ]);
    const elapsedS = (Date.now() - started) / 1000;

    // Without load: the same quiet canary has too little traffic to judge.
    expect(plainResult.verdict).toBe('inconclusive');
    expect(plainResult.reason).toMatch(/too little traffic to judge \(canary \d+ requests?; min-count 100\)/);

    // With load: min-count reached on both sides, and the canary passes.
    expect(withLoadResult.verdict).toBe('pass');
    const last = withLoadResult.runs[withLoadResult.runs.length - 1];
    expect(last?.checks[0]?.count?.canary).toBeGreaterThanOrEqual(100);

    // The caps, counted at the apps (minus the 3 real requests each): the rollout total is exact,
    // split evenly, and no side got more than rps × the time it ran.
    const synthetic = (name: string) => (lab.apps[name]?.served.total ?? 0) - 3;
    const canary = synthetic('loaded-canary');
    const stable = synthetic('loaded-stable');
    expect(canary + stable).toBe(MAX_REQUESTS);
    expect(Math.abs(canary - stable)).toBeLessThanOrEqual(1);
    expect(stable).toBeGreaterThanOrEqual(100); // the baseline side got as much
    expect(canary).toBeLessThanOrEqual(RPS * elapsedS + 1);
    expect(synthetic('still-canary') + synthetic('still-stable')).toBe(0);

    // What was synthetic is in the result, the JSON report and the Markdown.
    expect(withLoadResult.synthetic).toEqual({
      canary: { sent: canary, ok: canary, failed: 0 },
      stable: { sent: stable, ok: stable, failed: 0 },
    });
    expect(bakes).toEqual([withLoadResult.synthetic]);
    expect(analysisReport(withLoadResult).synthetic).toEqual(withLoadResult.synthetic);
    expect(renderAnalysisMarkdown(withLoadResult)).toContain(
      `Synthetic load during this bake: canary ${canary} requests (${canary} answered), stable ${stable} requests (${stable} answered); the judged request counts include them.`,
    );
    expect('synthetic' in analysisReport(plainResult)).toBe(false);
  }, 90_000);
});
