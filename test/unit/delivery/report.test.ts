import { describe, expect, it } from '@jest/globals';
import { createAnalysis } from '../../../src/analysis/analysis.js';
import { parseAnalysisSpec } from '../../../src/analysis/spec.js';
import { runRollout } from '../../../src/delivery/engine.js';
import { buildPlan } from '../../../src/delivery/plan.js';
import { renderRolloutMarkdown, rolloutReport } from '../../../src/delivery/report.js';
import { FakeClock } from '../../support/fake-clock.js';
import { MemoryTarget } from '../../support/memory-target.js';

const SPEC = parseAnalysisSpec(`
interval: 10s
metrics:
  - name: error-rate
    provider: metrics
    query: errors{side="{{side}}"}
    judge: { threshold: { max: 1% } }
`);

async function rollout(canaryErrorRate: number) {
  const clock = new FakeClock();
  const target = new MemoryTarget(clock);
  const analysis = createAnalysis(SPEC, {
    clock,
    providers: {
      metrics: {
        name: 'metrics',
        query: async (q) => ({ value: q.query.includes('canary') ? canaryErrorRate : 0, samples: [], count: 500 }),
      },
    },
  });
  const plan = buildPlan({ strategy: 'canary', steps: '10,50,100', stepDurationMs: 30_000 });
  return runRollout({ target, plan, analysis, deploymentId: 'd-1', clock, heartbeatMs: 0 });
}

describe('rollout report', () => {
  it('renders a rolled-back canary with steps, time to restore, diagnosis and the failing evidence', async () => {
    const result = await rollout(0.05);
    const md = renderRolloutMarkdown(result, {
      title: 'open-webui on web',
      spec: SPEC,
      facts: [['Image', '`web@sha256:abc`']],
    });
    expect(md).toContain('### ↩️ open-webui on web: rolled-back');
    expect(md).toContain('| **Engine** | `memory` |');
    expect(md).toContain('| **Image** | `web@sha256:abc` |');
    expect(md).toMatch(/\| \*\*Time to restore\*\* \| 0s from detection to all traffic on stable \|/);
    expect(md).toContain('| 1 | 10% | 10% / 90% | +0s | ❌ fail |');
    expect(md).toContain('task 1 stopped: Essential container in task exited');
    expect(md).toContain('#### Step 1 (10%): ❌ fail');
    expect(md).toContain('error-rate 5% \\> 1% (500 requests)');
    expect(md).toContain('<details><summary>Analysis spec</summary>');
  });

  it('writes JSON with every step, the timeline and the recovery figures', async () => {
    const result = await rollout(0.05);
    const report = rolloutReport(result, SPEC);
    expect(report).toMatchObject({
      version: 1,
      deploymentId: 'd-1',
      engine: 'memory',
      strategy: 'canary',
      status: 'rolled-back',
    });
    expect(report.steps).toHaveLength(1);
    expect(report.steps[0]?.confirmed).toMatchObject({ canary: 10, stable: 90 });
    expect(report.steps[0]?.analysis?.verdict).toBe('fail');
    expect(report.failure).toMatchObject({ trigger: 'analysis', recoverySeconds: 0 });
    expect(report.timeline.at(-1)?.message).toContain('Rolled back');
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('shows the spec once for a rollout with several bakes', async () => {
    const result = await rollout(0);
    const md = renderRolloutMarkdown(result, { title: 'web', spec: SPEC });
    expect(result.status).toBe('succeeded');
    expect(md.match(/Analysis spec/g)).toHaveLength(1);
    expect(md).toContain('#### Step 1 (10%): ✅ pass');
    expect(md).toContain('#### Step 2 (50%): ✅ pass');
  });
});
