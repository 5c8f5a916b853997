import { describe, expect, it } from '@jest/globals';
import { createAnalysis } from '../../../src/analysis/analysis.js';
import { parseAnalysisSpec } from '../../../src/analysis/spec.js';
import type { MetricProvider, MetricQuery, MetricResult } from '../../../src/analysis/types.js';
import { recoverInterrupted, runRollout } from '../../../src/delivery/engine.js';
import { buildPlan } from '../../../src/delivery/plan.js';
import { encodeRecord } from '../../../src/delivery/record.js';
import type { RolloutRecord, Strategy } from '../../../src/delivery/types.js';
import { UserError } from '../../../src/util/errors.js';
import { FakeClock } from '../../support/fake-clock.js';
import { MemoryTarget } from '../../support/memory-target.js';

const SPEC = `
interval: 10s
failure-limit: 2
metrics:
  - name: error-rate
    provider: metrics
    query: errors{side="{{side}}"}
    judge: { threshold: { max: 1% } }
`;

/** Answers the error rate per side from a function of time; records every query. */
function metrics(
  errorRate: (side: string, at: number) => number | undefined,
): MetricProvider & { asked: MetricQuery[] } {
  const asked: MetricQuery[] = [];
  return {
    name: 'metrics',
    asked,
    async query(q): Promise<MetricResult> {
      asked.push(q);
      const side = /side="([^"]+)"/.exec(q.query)?.[1] ?? '';
      return { value: errorRate(side, q.window.end.getTime()), samples: [], count: 1000 };
    },
  };
}

function setup(
  options: {
    strategy?: Strategy;
    steps?: string;
    errorRate?: (side: string, at: number) => number | undefined;
    spec?: string;
  } = {},
) {
  const clock = new FakeClock();
  const target = new MemoryTarget(clock);
  const provider = metrics(options.errorRate ?? (() => 0.001));
  const analysis = createAnalysis(parseAnalysisSpec(options.spec ?? SPEC), { providers: { metrics: provider }, clock });
  const plan = buildPlan({
    strategy: options.strategy ?? 'canary',
    steps: options.steps ?? '10,50,100',
    stepDurationMs: 60_000,
  });
  const lines: string[] = [];
  const base = {
    target,
    plan,
    analysis,
    deploymentId: '4242.1-abc',
    runId: '4242.1',
    clock,
    heartbeatMs: 0,
    log: (l: string) => lines.push(l),
  };
  return { clock, target, provider, analysis, plan, lines, base };
}

describe('runRollout', () => {
  it('records the rollout before any change, confirms each weight, bakes, promotes and clears the record', async () => {
    const { target, base, provider, clock } = setup();
    const start = clock.now();
    const result = await runRollout(base);

    expect(result.status).toBe('succeeded');
    expect(target.calls).toEqual([
      'preflight',
      'loadRecord',
      'saveRecord starting w=0',
      // Read back once: from then on a missing record means someone removed it.
      'loadRecord',
      'create 4242.1-abc',
      // Every later write looks first: is the rollout still this run's, is traffic where it was put?
      'loadRecord',
      'saveRecord starting w=0',
      'waitHealthy',
      'loadRecord',
      'saveRecord shifting w=10',
      'shift 10',
      // ...and after every shift, in case someone aborted while it was in flight.
      'loadRecord',
      'loadRecord',
      'saveRecord shifting w=50',
      'shift 50',
      'loadRecord',
      'loadRecord',
      'saveRecord shifting w=100',
      'shift 100',
      'loadRecord',
      'loadRecord',
      'saveRecord promoting w=100',
      'promote v2',
      'saveRecord none',
    ]);
    expect(target.tag).toBeUndefined();
    expect(target.stable).toBe('v2');
    expect(result.steps.map((s) => [s.weight, s.traffic?.canary, s.bake?.verdict])).toEqual([
      [10, 10, 'pass'],
      [50, 50, 'pass'],
      [100, 100, undefined],
    ]);
    // Two bakes of 60 s, a run every 10 s each: 12 runs, each asking for the canary only (threshold).
    expect(provider.asked).toHaveLength(12);
    expect(provider.asked.every((q) => q.query === 'errors{side="canary"}')).toBe(true);
    // The second bake's windows start when 50% was confirmed, not when the rollout began.
    const secondBakeStart = result.steps[1]?.confirmedAt as number;
    expect(secondBakeStart).toBe(start + 60_000);
    expect(provider.asked.slice(6).every((q) => q.window.start.getTime() === secondBakeStart)).toBe(true);
    expect(result.deploymentId).toBe('4242.1-abc');
    expect(result.timeline.map((e) => e.kind)).toEqual([
      'start',
      'created',
      'healthy',
      'shift',
      'analysis',
      'analysis',
      'shift',
      'analysis',
      'analysis',
      'shift',
      'promote',
      'promote',
    ]);
  });

  it('writes the record with the run that owns it, in a form a tag can hold', async () => {
    const { target, base } = setup();
    const seen: string[] = [];
    const save = target.saveRecord.bind(target);
    target.saveRecord = async (record, signal) => {
      await save(record, signal);
      if (target.tag) seen.push(target.tag);
    };
    await runRollout(base);
    expect(seen[0]).toMatch(/^v1 id=4242\.1-abc e=memory p=starting s= c= w=0 i=0 t=\d+ r=4242\.1 l=\d+$/);
    expect(seen).toContain(seen.find((t) => t.includes('p=shifting') && t.includes('w=50') && t.includes('s=v1 c=v2')));
  });

  it('rolls back at once when the canary breaches the SLO, with the evidence and the time to restore', async () => {
    const { target, base, clock } = setup({ errorRate: (side) => (side === 'canary' ? 0.2 : 0) });
    const result = await runRollout(base);

    expect(result.status).toBe('rolled-back');
    expect(result.failure?.trigger).toBe('analysis');
    expect(target.weight).toBe(0);
    expect(target.canary).toBeUndefined();
    expect(target.tag).toBeUndefined();
    expect(target.calls).not.toContain('shift 50');
    expect(target.calls.slice(-3)).toEqual(['saveRecord rolling-back w=10', 'rollback v2', 'saveRecord none']);
    // failure-limit 2 at a 10 s interval: the second run, 20 s into the bake, fails it.
    expect(result.failure?.detectedAt).toBe((result.steps[0]?.confirmedAt as number) + 20_000);
    expect(result.failure?.recoveryMs).toBe(0);
    expect(result.failure?.diagnosis).toEqual(['task 1 stopped: Essential container in task exited']);
    expect(result.reason).toContain('Step 1 (10%) analysis failed');
    expect(result.reason).toContain('20%');
    expect(result.steps[0]?.bake?.runs).toHaveLength(2);
    expect(clock.now() - result.startedAt).toBe(20_000);
  });

  it('stops and rolls back on an inconclusive bake (too little evidence is not a pass)', async () => {
    const { target, base } = setup({ errorRate: () => undefined });
    const result = await runRollout(base);
    expect(result.status).toBe('rolled-back');
    expect(result.reason).toContain('was inconclusive');
    expect(target.weight).toBe(0);
  });

  it('rolls back a new version that never becomes healthy, before any traffic moved', async () => {
    const { target, base } = setup();
    target.fail.waitHealthy = new UserError(
      'Task set ecs-svc/2 has 0 of 2 tasks running.',
      'Look at the stopped tasks.',
    );
    const result = await runRollout(base);
    expect(result.status).toBe('rolled-back');
    expect(result.failure?.trigger).toBe('unhealthy');
    expect(result.reason).toContain(
      'The new version did not become healthy: Task set ecs-svc/2 has 0 of 2 tasks running.',
    );
    expect(target.calls).not.toContain('shift 10');
    expect(target.calls).toContain('rollback v2');
  });

  it('rolls back when a shift fails mid-rollout, never leaving traffic between steps', async () => {
    const { target, base } = setup();
    target.failShiftAt.add(50);
    const result = await runRollout(base);
    expect(result.status).toBe('rolled-back');
    expect(result.failure?.trigger).toBe('error');
    expect(result.reason).toContain('The rollout stopped at step 2 (50%): connection reset while shifting to 50');
    expect(target.weight).toBe(0);
    expect(target.tag).toBeUndefined();
  });

  it('leaves traffic where it is and the record held when rollback-on-failure is false', async () => {
    const { target, base } = setup({ errorRate: (side) => (side === 'canary' ? 0.2 : 0) });
    const result = await runRollout({ ...base, rollbackOnFailure: false });
    expect(result.status).toBe('failed');
    expect(target.weight).toBe(10);
    expect(target.record?.phase).toBe('held');
    expect(target.calls.some((c) => c.startsWith('rollback'))).toBe(false);
    expect(result.reason).toContain('rollback-on-failure is false');
  });

  it('rolls back within the grace period when the job is cancelled during a bake', async () => {
    const { target, base, clock } = setup();
    const controller = new AbortController();
    const sleep = clock.sleep.bind(clock);
    clock.sleep = async (ms, signal) => {
      if (target.weight === 50) controller.abort(new Error('cancelled (SIGTERM)'));
      return sleep(ms, signal);
    };
    const result = await runRollout({ ...base, signal: controller.signal });
    expect(result.status).toBe('rolled-back');
    expect(result.failure?.trigger).toBe('cancelled');
    expect(result.reason).toContain('The job was cancelled at step 2 (50%).');
    expect(target.weight).toBe(0);
    expect(target.tag).toBeUndefined();
  });

  it('keeps the record for the post step when the rollback itself fails', async () => {
    const { target, base } = setup({ errorRate: (side) => (side === 'canary' ? 0.2 : 0) });
    target.fail.rollback = new Error('ModifyListener: ThrottlingException');
    const result = await runRollout(base);
    expect(result.status).toBe('failed');
    expect(result.reason).toContain('The rollback did not finish: returning all traffic to v1 did not succeed after');
    expect(result.reason).toContain('(its deadline passed); last error: ModifyListener: ThrottlingException');
    expect(target.record).toMatchObject({ phase: 'rolling-back', canary: 'v2', stable: 'v1', weight: 10 });
  });

  it('changes nothing when preflight refuses', async () => {
    const { target, base } = setup();
    target.fail.preflight = new UserError('Listener rule does not forward to target group green.');
    await expect(runRollout(base)).rejects.toThrow('does not forward to target group green');
    expect(target.calls).toEqual(['preflight']);
    expect(target.tag).toBeUndefined();
  });

  it('finishes an unfinished rollout left by an earlier run before starting, and says so', async () => {
    const { target, base } = setup();
    const left: RolloutRecord = {
      id: '4100.1-old',
      engine: 'memory',
      phase: 'shifting',
      stable: 'v1',
      canary: 'v0-bad',
      weight: 50,
      step: 1,
      at: 1,
      run: '4100.1',
    };
    target.tag = encodeRecord(left);
    target.weight = 50;
    const result = await runRollout(base);
    expect(result.status).toBe('succeeded');
    expect(result.recovered).toMatchObject({ action: 'rolled-back', record: left });
    expect(target.calls.slice(0, 5)).toEqual([
      'preflight',
      'loadRecord',
      'saveRecord rolling-back w=50',
      'rollback v0-bad',
      'saveRecord none',
    ]);
    expect(result.timeline[0]?.message).toContain(
      'Found an unfinished rollout 4100.1-old (memory), shifting at step 2 with up to 50%',
    );
  });

  it('completes an interrupted promotion instead of undoing a version that passed', async () => {
    const { target, base } = setup();
    target.tag = encodeRecord({
      id: 'old',
      engine: 'memory',
      phase: 'promoting',
      stable: 'v1',
      canary: 'v1b',
      weight: 100,
      step: 2,
      at: 1,
    });
    const result = await runRollout(base);
    expect(result.recovered?.action).toBe('promoted');
    expect(target.calls).toContain('promote v1b');
  });

  it('judges a rolling update against thresholds only (no baseline to compare with)', async () => {
    const { base, provider } = setup({ strategy: 'rolling', steps: '' });
    const result = await runRollout(base);
    expect(result.status).toBe('succeeded');
    expect(result.steps).toHaveLength(1);
    expect(result.steps[0]?.bake?.verdict).toBe('pass');
    expect(provider.asked.every((q) => q.labels?.side === 'canary')).toBe(true);
  });

  it('drops the baseline of relative judges once stable has no traffic (blue-green after the switch)', async () => {
    const spec = `
interval: 10s
metrics:
  - name: error-rate
    provider: metrics
    query: errors{side="{{side}}"}
    judge: { relative: { tolerance: 10% } }
`;
    const { base } = setup({ strategy: 'blue-green', steps: '', spec });
    const result = await runRollout(base);
    expect(result.status).toBe('rolled-back');
    expect(result.steps[0]?.bake?.runs[0]?.checks[0]?.reason).toContain('no baseline to compare with');
  });
});

describe('recoverInterrupted (the post step)', () => {
  const record = (over: Partial<RolloutRecord> = {}): RolloutRecord => ({
    id: 'r',
    engine: 'memory',
    phase: 'shifting',
    stable: 'v1',
    canary: 'v2',
    weight: 50,
    step: 1,
    at: 1,
    run: '4242.1',
    ...over,
  });

  it('returns all traffic to stable when the main step died mid-rollout', async () => {
    const clock = new FakeClock();
    const target = new MemoryTarget(clock);
    target.tag = encodeRecord(record());
    target.weight = 50;
    target.canary = 'v2';
    let restoredAtWeight: number | undefined;
    const result = await recoverInterrupted(target, {
      runId: '4242.1',
      clock,
      onRestored: () => (restoredAtWeight = target.weight),
    });
    expect(result?.action).toBe('rolled-back');
    expect(restoredAtWeight).toBe(0);
    expect(target.weight).toBe(0);
    expect(target.tag).toBeUndefined();
  });

  it("leaves another run's rollout and a held one alone", async () => {
    const clock = new FakeClock();
    const target = new MemoryTarget(clock);
    const lines: string[] = [];
    target.tag = encodeRecord(record({ run: '9999.1' }));
    expect(await recoverInterrupted(target, { runId: '4242.1', clock, log: (l) => lines.push(l) })).toBeUndefined();
    target.tag = encodeRecord(record({ phase: 'held' }));
    expect(await recoverInterrupted(target, { runId: '4242.1', clock, log: (l) => lines.push(l) })).toBeUndefined();
    expect(target.calls.some((c) => c.startsWith('rollback'))).toBe(false);
    expect(lines[0]).toContain('belongs to another run');
    expect(lines[1]).toContain('rollback-on-failure is false');
  });

  it('does nothing without a record', async () => {
    const target = new MemoryTarget(new FakeClock());
    expect(await recoverInterrupted(target, { runId: '4242.1' })).toBeUndefined();
    expect(target.calls).toEqual(['loadRecord']);
  });
});

describe('one owner per rollout', () => {
  /** Runs `act` once, the first time the clock sleeps while the new version has `weight`%. */
  function whenBaking(clock: FakeClock, target: MemoryTarget, weight: number, act: () => void) {
    const sleep = clock.sleep.bind(clock);
    let done = false;
    clock.sleep = async (ms, signal) => {
      if (!done && target.weight === weight) {
        done = true;
        act();
      }
      return sleep(ms, signal);
    };
  }

  it('yields to an operator abort during a bake: no shift, no record write after it, status rolled-back with who aborted', async () => {
    const { target, base, clock } = setup();
    whenBaking(clock, target, 10, () => {
      target.abortTag = {
        id: '4242.1-abc',
        by: 'the rollback action, run 5555.1 (octocat)',
        at: Math.floor(clock.now() / 1000),
      };
      // The rollback action restores stable and removes the new side itself.
      target.weight = 0;
    });
    const result = await runRollout(base);

    expect(result.status).toBe('rolled-back');
    expect(result.failure?.trigger).toBe('yielded');
    expect(result.yielded?.kind).toBe('aborted');
    expect(result.reason).toContain(
      'Stopped at step 2 (50%) without touching traffic: Aborted by the rollback action, run 5555.1 (octocat)',
    );
    const after = target.calls.slice(target.calls.indexOf('shift 10') + 1);
    expect(
      after.filter(
        (c) =>
          c.startsWith('shift') || c.startsWith('saveRecord') || c.startsWith('rollback') || c.startsWith('promote'),
      ),
    ).toEqual([]);
    expect(target.weight).toBe(0);
  });

  it('yields when its record was removed or another rollout took the service, leaving traffic alone', async () => {
    for (const takeOver of [
      (t: MemoryTarget) => (t.tag = undefined),
      (t: MemoryTarget) =>
        (t.tag = encodeRecord({
          id: '7777.1-x',
          engine: 'memory',
          phase: 'shifting',
          stable: 'v1',
          canary: 'v3',
          weight: 10,
          step: 0,
          at: 1,
          run: '7777.1',
          lease: 9e9,
        })),
    ]) {
      const { target, base, clock } = setup();
      whenBaking(clock, target, 10, () => takeOver(target));
      const result = await runRollout(base);
      expect(result.status).toBe('failed');
      expect(['gone', 'taken']).toContain(result.yielded?.kind);
      expect(target.calls.filter((c) => c === 'shift 50' || c.startsWith('rollback'))).toEqual([]);
      expect(target.weight).toBe(10);
    }
  });

  it('stops when the weights were changed by hand, without overwriting them, and holds the record', async () => {
    const { target, base, clock } = setup();
    whenBaking(clock, target, 10, () => (target.weight = 0));
    const result = await runRollout(base);
    expect(result.status).toBe('failed');
    expect(result.yielded?.kind).toBe('traffic');
    expect(result.reason).toContain('it set 10% on the new version, and 0% is there now');
    expect(target.calls).not.toContain('shift 50');
    expect(target.calls.some((c) => c.startsWith('rollback'))).toBe(false);
    expect(target.weight).toBe(0);
    expect(target.record?.phase).toBe('held');
  });

  it('puts traffic back on stable when an abort landed while its own shift was in flight', async () => {
    const { target, base, clock } = setup();
    const shift = target.shift.bind(target);
    target.shift = async (weight, signal) => {
      if (weight === 50) {
        // The rollback action restores stable while this shift is on its way...
        target.abortTag = { id: '4242.1-abc', by: 'the rollback action', at: Math.floor(clock.now() / 1000) };
        target.weight = 0;
        target.tag = undefined;
      }
      return shift(weight, signal); // ...and the shift lands after it.
    };
    const result = await runRollout(base);
    expect(result.status).toBe('rolled-back');
    expect(result.yielded?.kind).toBe('aborted');
    expect(target.calls.filter((c) => c.startsWith('shift')).slice(-2)).toEqual(['shift 50', 'shift 0']);
    expect(target.weight).toBe(0);
    expect(target.tag).toBeUndefined();
  });

  it('notices an abort within one heartbeat while baking (real time)', async () => {
    const target = new MemoryTarget({
      now: () => Date.now(),
      sleep: (ms, signal) =>
        new Promise((resolve, reject) => {
          const t = setTimeout(resolve, ms);
          signal?.addEventListener(
            'abort',
            () => {
              clearTimeout(t);
              reject(signal.reason);
            },
            { once: true },
          );
        }),
    });
    const plan = buildPlan({ strategy: 'canary', steps: '10,100', stepDurationMs: 5_000 });
    const started = Date.now();
    setTimeout(() => {
      target.abortTag = { id: 'hb-1', by: 'an operator', at: Math.floor(Date.now() / 1000) };
    }, 300);
    const result = await runRollout({ target, plan, deploymentId: 'hb-1', heartbeatMs: 200 });
    expect(result.yielded?.kind).toBe('aborted');
    expect(result.yielded!.at - started).toBeLessThan(300 + 200 + 150);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(target.calls).not.toContain('shift 100');
  });

  it('renews its lease while it bakes', async () => {
    const target = new MemoryTarget({
      now: () => Date.now(),
      sleep: (ms, signal) =>
        new Promise((resolve, reject) => {
          const t = setTimeout(resolve, ms);
          signal?.addEventListener(
            'abort',
            () => {
              clearTimeout(t);
              reject(signal.reason);
            },
            { once: true },
          );
        }),
    });
    const leases: number[] = [];
    const save = target.saveRecord.bind(target);
    target.saveRecord = async (record, signal) => {
      if (record?.lease) leases.push(record.lease);
      return save(record, signal);
    };
    const plan = buildPlan({ strategy: 'canary', steps: '10,100', stepDurationMs: 1_000 });
    const result = await runRollout({ target, plan, deploymentId: 'hb-2', heartbeatMs: 200, leaseMs: 5_000 });
    expect(result.status).toBe('succeeded');
    // Beats while baking 1 s at 10%, beside the writes of each phase.
    expect(target.calls.filter((c) => c === 'saveRecord shifting w=10').length).toBeGreaterThanOrEqual(4);
    expect(leases.every((l) => l >= Math.floor(Date.now() / 1000))).toBe(true);
  });

  it('refuses to start while another run still drives the service, and changes nothing', async () => {
    const { target, base, clock } = setup();
    const theirs: RolloutRecord = {
      id: '9999.1-z',
      engine: 'memory',
      phase: 'shifting',
      stable: 'v1',
      canary: 'v9',
      weight: 10,
      step: 0,
      at: 1,
      run: '9999.1',
      lease: Math.floor(clock.now() / 1000) + 60,
    };
    target.tag = encodeRecord(theirs);
    await expect(runRollout(base)).rejects.toThrow(
      /in the middle of rollout 9999\.1-z .*its lease runs for another 1m/,
    );
    expect(target.calls).toEqual(['preflight', 'loadRecord']);

    // GitHub's word wins over the lease: a finished run's rollout is recovered at once.
    const finished = await runRollout({ ...base, ownerAlive: async () => false });
    expect(finished.recovered?.action).toBe('rolled-back');
    expect(finished.status).toBe('succeeded');
  });

  it("recovers a rollout whose lease ran out, and one of this run's earlier attempt", async () => {
    for (const over of [{ lease: Math.floor(Date.UTC(2026, 10, 22) / 1000) - 1 }, { run: '4242.0', lease: 9e9 }]) {
      const { target, base } = setup();
      target.tag = encodeRecord({
        id: 'old',
        engine: 'memory',
        phase: 'shifting',
        stable: 'v1',
        canary: 'v9',
        weight: 10,
        step: 0,
        at: 1,
        run: '9999.1',
        ...over,
      });
      const result = await runRollout(base);
      expect(result.recovered?.action).toBe('rolled-back');
      expect(result.timeline[0]?.message).toMatch(/lease ran out|attempt 0 of this run/);
    }
  });

  it('never shifts traffic to a new version without capacity', async () => {
    const { target, base } = setup();
    target.canaryReady = false;
    const result = await runRollout(base);
    expect(result.status).toBe('rolled-back');
    expect(result.failure?.trigger).toBe('unhealthy');
    expect(result.reason).toContain('cannot take 10% of traffic: no task of the new version is running');
    expect(target.calls.filter((c) => c.startsWith('shift'))).toEqual([]);
  });

  it('retries the restore until it holds: three failures, then stable', async () => {
    const { target, base, lines } = setup({ errorRate: (side) => (side === 'canary' ? 0.2 : 0) });
    const rollback = target.rollback.bind(target);
    let failures = 3;
    target.rollback = async (record, signal, onRestored) => {
      if (failures-- > 0) {
        target.calls.push('rollback throttled');
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      }
      return rollback(record, signal, onRestored);
    };
    const result = await runRollout(base);
    expect(result.status).toBe('rolled-back');
    expect(target.calls.filter((c) => c.startsWith('rollback'))).toEqual([
      'rollback throttled',
      'rollback throttled',
      'rollback throttled',
      'rollback v2',
    ]);
    expect(target.weight).toBe(0);
    expect(target.tag).toBeUndefined();
    expect(lines.filter((l) => l.includes('trying again in'))).toHaveLength(3);
  });
});

describe('pause and resume across jobs', () => {
  const HOUR = 3_600_000;

  it('pauses after the pause step passed: the record says paused with a deadline and no lease, nothing else moves', async () => {
    const { target, base, clock } = setup({ steps: '10,25:pause,100' });
    const result = await runRollout({ ...base, pauseTimeoutMs: 2 * HOUR });

    expect(result.status).toBe('paused');
    expect(result.paused).toEqual({ until: clock.now() + 2 * HOUR, nextStep: 2, weight: 25 });
    expect(result.steps.map((s) => [s.weight, s.bake?.verdict])).toEqual([
      [10, 'pass'],
      [25, 'pass'],
    ]);
    expect(target.weight).toBe(25);
    expect(
      target.calls.filter((c) => c.startsWith('promote') || c.startsWith('rollback') || c === 'shift 100'),
    ).toEqual([]);
    const record = target.record as RolloutRecord;
    expect(record).toMatchObject({
      phase: 'paused',
      weight: 25,
      step: 1,
      run: '4242.1',
      canary: 'v2',
      stable: 'v1',
      pauseUntil: Math.floor((clock.now() + 2 * HOUR) / 1000),
    });
    expect(record.lease).toBeUndefined();
    expect(result.reason).toContain('Paused at step 2/3: 25% on v2');
    // The post step of the pausing job leaves it for the resume.
    const lines: string[] = [];
    expect(await recoverInterrupted(target, { runId: '4242.1', clock, log: (l) => lines.push(l) })).toBeUndefined();
    expect(lines[0]).toContain('left paused for a resume');
    expect(target.weight).toBe(25);
  });

  it('defaults the pause deadline to 24 hours', async () => {
    const { target, base, clock } = setup({ steps: '25:pause,100' });
    await runRollout(base);
    expect(target.record?.pauseUntil).toBe(Math.floor((clock.now() + 24 * HOUR) / 1000));
  });

  it('resumes in another run: takes the record over (its run, a lease), runs only the remaining steps, judges them, promotes', async () => {
    const { target, base, clock, provider } = setup({ steps: '10,25:pause,50,100' });
    await runRollout(base);
    const paused = target.record as RolloutRecord;
    clock.advance(HOUR);
    target.calls.length = 0;
    provider.asked.length = 0;
    const written: string[] = [];
    const save = target.saveRecord.bind(target);
    target.saveRecord = async (record, signal) => {
      await save(record, signal);
      if (target.tag) written.push(target.tag);
    };
    const verified: RolloutRecord[] = [];
    const result = await runRollout({
      ...base,
      deploymentId: 'ignored',
      runId: '5151.1',
      resume: { verify: async (r) => void verified.push(r) },
    });

    expect(result.status).toBe('succeeded');
    expect(result.deploymentId).toBe('4242.1-abc');
    expect(result.resumedFrom?.run).toBe('4242.1');
    expect(verified.map((r) => r.id)).toEqual(['4242.1-abc']);
    expect(target.calls.filter((c) => !c.startsWith('loadRecord'))).toEqual([
      'preflight',
      'adopt v2',
      'saveRecord paused w=25',
      'saveRecord shifting w=50',
      'shift 50',
      'saveRecord shifting w=100',
      'shift 100',
      'saveRecord promoting w=100',
      'promote v2',
      'saveRecord none',
    ]);
    // The takeover write names this run, carries a lease and drops the pause deadline.
    expect(written[0]).toMatch(/ p=paused .* r=5151\.1 l=\d+$/);
    expect(written[0]).not.toContain('pu=');
    expect(result.steps.map((s) => [s.weight, s.bake?.verdict])).toEqual([
      [50, 'pass'],
      [100, undefined],
    ]);
    expect(provider.asked).toHaveLength(6);
    expect(target.stable).toBe('v2');
    expect(paused.phase).toBe('paused');
    expect(result.timeline[0]?.message).toContain('Resuming the paused canary rollout 4242.1-abc');
  });

  it('rolls back a resumed canary whose next step fails, like any other', async () => {
    let bad = false;
    const { target, base, clock } = setup({ steps: '25:pause,50,100', errorRate: () => (bad ? 0.2 : 0.001) });
    await runRollout(base);
    clock.advance(HOUR);
    bad = true;
    const result = await runRollout({ ...base, runId: '5151.1', resume: {} });
    expect(result.status).toBe('rolled-back');
    expect(target.weight).toBe(0);
    expect(target.tag).toBeUndefined();
  });

  it('refuses to resume what is not paused, and changes nothing', async () => {
    const cases: Array<[string | undefined, RegExp]> = [
      [undefined, /has no paused rollout to resume/],
      [
        encodeRecord({
          id: 'r1',
          engine: 'memory',
          phase: 'shifting',
          stable: 'v1',
          canary: 'v2',
          weight: 10,
          step: 0,
          at: 1,
          run: '1.1',
          lease: 9e9,
        }),
        /which is not paused, so there is nothing to resume/,
      ],
      [
        encodeRecord({
          id: 'r1',
          engine: 'memory',
          phase: 'held',
          stable: 'v1',
          canary: 'v2',
          weight: 10,
          step: 0,
          at: 1,
          run: '1.1',
        }),
        /which is not paused/,
      ],
    ];
    for (const [tag, message] of cases) {
      const { target, base } = setup({ steps: '25:pause,100' });
      target.tag = tag;
      const err = await runRollout({ ...base, resume: {} }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).message).toMatch(message);
      expect((err as UserError).message).toContain('Nothing was changed.');
      expect(target.calls.filter((c) => c.startsWith('saveRecord') || c.startsWith('shift'))).toEqual([]);
      expect(target.tag).toBe(tag);
    }
  });

  it('refuses a resume whose verify fails (another image), past its deadline, or when traffic moved while paused', async () => {
    const scenarios: Array<
      [string, (t: MemoryTarget, c: FakeClock) => void, RegExp, ((r: RolloutRecord) => Promise<void>) | undefined]
    > = [
      [
        'image',
        () => undefined,
        /ghcr.io\/acme\/web:v3/,
        async () =>
          Promise.reject(new UserError('The paused canary runs ghcr.io/acme/web:v2, not ghcr.io/acme/web:v3.')),
      ],
      ['deadline', (_t, c) => c.advance(25 * HOUR), /ran out .* ago/, undefined],
      ['traffic', (t) => (t.weight = 0), /left 25% on the new version, and 0% is there now/, undefined],
    ];
    for (const [, change, message, verify] of scenarios) {
      const { target, base, clock } = setup({ steps: '25:pause,100' });
      await runRollout(base);
      const before = target.tag;
      change(target, clock);
      target.calls.length = 0;
      const err = await runRollout({ ...base, runId: '5151.1', resume: verify ? { verify } : {} }).catch(
        (e: unknown) => e,
      );
      expect((err as Error).message).toMatch(message);
      expect(target.calls.filter((c) => c.startsWith('saveRecord') || c.startsWith('shift'))).toEqual([]);
      expect(target.tag).toBe(before);
    }
  });

  it('refuses an ordinary deploy over a paused canary before its deadline, and finishes it (rolls it back) after', async () => {
    const { target, base, clock } = setup({ steps: '25:pause,100' });
    await runRollout(base);
    const err = await runRollout({ ...base, deploymentId: '6161.1-new', runId: '6161.1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toContain('holds a paused canary');
    expect((err as UserError).hint).toContain('resume: true');
    expect((err as UserError).hint).toContain('rollback action');
    expect(target.weight).toBe(25);

    clock.advance(25 * HOUR);
    const result = await runRollout({
      ...base,
      plan: buildPlan({ strategy: 'canary', steps: '50,100', stepDurationMs: 60_000 }),
      deploymentId: '6161.1-new',
      runId: '6161.1',
    });
    expect(result.recovered?.action).toBe('rolled-back');
    expect(result.status).toBe('succeeded');
    expect(result.timeline[0]?.message).toContain('Found an unfinished rollout 4242.1-abc');
  });
});

describe('a deploy that starts while a rollback is under way', () => {
  it('waits for the rollback to finish instead of racing it, then rolls out', async () => {
    const { target, base, clock, lines } = setup();
    // The rollback action took run 9999's canary over a moment ago: record rolling-back, abort request beside it.
    target.tag = encodeRecord({
      id: '9999.1-z',
      engine: 'memory',
      phase: 'rolling-back',
      stable: 'v1',
      canary: 'v9',
      weight: 10,
      step: 0,
      at: Math.floor(clock.now() / 1000),
      run: '9999.1',
      lease: Math.floor(clock.now() / 1000) + 120,
    });
    target.abortTag = { id: '9999.1-z', by: 'the rollback action', at: Math.floor(clock.now() / 1000) };
    let looks = 0;
    const load = target.loadRecord.bind(target);
    target.loadRecord = async () => {
      // The rollback finishes (record removed) on the third look.
      if (++looks === 3) target.tag = undefined;
      return load();
    };
    const result = await runRollout(base);
    expect(result.status).toBe('succeeded');
    expect(result.recovered).toBeUndefined();
    expect(lines.some((l) => l.includes('is being rolled back') && l.includes('waiting until that is done'))).toBe(
      true,
    );
    expect(target.calls.filter((c) => c.startsWith('rollback'))).toEqual([]);
  });
});
