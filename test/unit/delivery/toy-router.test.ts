/**
 * The "Add a router" recipe of docs/architecture.md, followed step by step with a toy
 * router: (1) a class implementing TrafficRouter, (2) one registry line, (3) the workload's
 * target built with the router by name, then a real engine rollout through it.
 */
import { describe, expect, it } from '@jest/globals';
import { createAnalysis } from '../../../src/analysis/analysis.js';
import { parseAnalysisSpec } from '../../../src/analysis/spec.js';
import type { MetricProvider } from '../../../src/analysis/types.js';
import { runRollout } from '../../../src/delivery/engine.js';
import { buildPlan } from '../../../src/delivery/plan.js';
import type { TrafficRouter } from '../../../src/delivery/router.js';
import type { RolloutRecord, Traffic } from '../../../src/delivery/types.js';
import { FakeClock } from '../../support/fake-clock.js';
import { MEMORY_ROUTERS, memoryTarget, type MemoryRouterContext } from '../../support/memory-target.js';

/** Step 1: the router. Weighted buckets in memory, every write and read kept for the test. */
class ToyWeightedRouter implements TrafficRouter {
  readonly kind = 'toy-weighted';
  readonly drivesTraffic = true;
  /** Every weight set, in order; "restore" for the rollback's one change. */
  static readonly seen: string[] = [];
  /** The toy's own state: percent on the new side. */
  static bucket = 0;

  constructor(private readonly context: MemoryRouterContext) {}

  private traffic(): Traffic {
    return { canary: ToyWeightedRouter.bucket, stable: 100 - ToyWeightedRouter.bucket, detail: 'toy buckets' };
  }

  async setWeight(weight: number): Promise<Traffic> {
    ToyWeightedRouter.seen.push(`set ${weight}`);
    ToyWeightedRouter.bucket = weight;
    return this.traffic();
  }

  async readWeight(): Promise<Traffic | undefined> {
    return this.traffic();
  }

  async restoreStable(record: RolloutRecord): Promise<void> {
    ToyWeightedRouter.seen.push(`restore ${record.stable}`);
    ToyWeightedRouter.bucket = 0;
    this.context.service.weights = new Map([[record.stable, 100]]);
  }
}

// Step 2: the registry line.
MEMORY_ROUTERS.register('toy-weighted', (context) => new ToyWeightedRouter(context));

function setup(errorRate: number) {
  ToyWeightedRouter.seen.length = 0;
  ToyWeightedRouter.bucket = 0;
  const clock = new FakeClock();
  // Step 3: the target built with the router by name.
  const target = memoryTarget('toy-weighted');
  const provider: MetricProvider = {
    name: 'metrics',
    async query() {
      return { value: errorRate, samples: [], count: 1000 };
    },
  };
  const spec = parseAnalysisSpec(
    'interval: 10s\nfailure-limit: 1\nmetrics:\n  - name: errors\n    provider: metrics\n    query: errors\n    judge: { threshold: { max: 1% } }\n',
  );
  const analysis = createAnalysis(spec, { providers: { metrics: provider }, clock });
  const options = {
    target,
    plan: buildPlan({ strategy: 'canary', steps: '10,50,100', stepDurationMs: 60_000 }),
    analysis,
    deploymentId: '77.1-toy',
    runId: '77.1',
    clock,
    heartbeatMs: 0,
  };
  return { target, options };
}

describe('a toy router added by the recipe', () => {
  it('is listed in the registry beside the built-in one', () => {
    expect(MEMORY_ROUTERS.kinds()).toEqual(['memory', 'toy-weighted']);
    expect(() => MEMORY_ROUTERS.create('no-such-router', {} as MemoryRouterContext)).toThrow(
      /no memory traffic router named no-such-router/,
    );
  });

  it('carries a rollout to promotion: every step weight set through it and confirmed', async () => {
    const { target, options } = setup(0.001);
    const result = await runRollout(options);
    expect(result.status).toBe('succeeded');
    expect(ToyWeightedRouter.seen).toEqual(['set 10', 'set 50', 'set 100']);
    expect(result.steps.map((s) => s.traffic?.canary)).toEqual([10, 50, 100]);
    expect(target.router.kind).toBe('toy-weighted');
    expect(target.service.stable).toBe('v2');
    expect(target.service.tag).toBeUndefined();
  });

  it('rolls back through it on failing analysis: one restore to stable, then the new side is removed', async () => {
    const { target, options } = setup(0.2);
    const result = await runRollout(options);
    expect(result.status).toBe('rolled-back');
    expect(result.failure?.trigger).toBe('analysis');
    expect(ToyWeightedRouter.seen).toEqual(['set 10', 'restore v1']);
    expect(ToyWeightedRouter.bucket).toBe(0);
    // The fault model's order: the record says rolling-back, traffic restored, then the side removed, then the record.
    const calls = target.service.calls;
    const tail = calls.slice(calls.indexOf('saveRecord rolling-back w=10'));
    expect(tail).toEqual(['saveRecord rolling-back w=10', 'locate v2', 'remove v2', 'saveRecord none']);
    expect(target.service.canary).toBeUndefined();
    expect(target.service.tag).toBeUndefined();
  });

  it("yields without touching traffic when someone moves the toy's weights during a bake", async () => {
    const { options } = setup(0.001);
    const clock = options.clock;
    const sleep = clock.sleep.bind(clock);
    let moved = false;
    clock.sleep = async (ms, signal) => {
      // The first wait of the 10% bake: an operator moves the weights by hand.
      if (!moved && ToyWeightedRouter.bucket === 10) {
        moved = true;
        ToyWeightedRouter.bucket = 30;
      }
      return sleep(ms, signal);
    };
    const result = await runRollout(options);
    expect(result.status).toBe('failed');
    expect(result.yielded?.kind).toBe('traffic');
    expect(ToyWeightedRouter.seen).toEqual(['set 10']);
    expect(ToyWeightedRouter.bucket).toBe(30);
  });
});
