/**
 * The read-only `platform` router and a workload that owns its rollback, as the ECS rolling
 * and native targets are composed: shifts wait for what the platform does, the rollback is
 * the workload's alone, and nothing lets the engine compare weights the platform moves.
 */
import { describe, expect, it } from '@jest/globals';
import { composeTarget } from '../../../src/delivery/compose.js';
import type { RecordStore } from '../../../src/delivery/record-store.js';
import type { RolloutRecord, Sides, Traffic } from '../../../src/delivery/types.js';
import type { Workload } from '../../../src/delivery/workload.js';
import { PLATFORM, type PlatformRouter } from '../../../src/aws/platform-router.js';
import { ECS_ROUTERS } from '../../../src/aws/routers.js';

const record: RolloutRecord = {
  id: '9.1-web',
  engine: 'ecs-rolling',
  phase: 'shifting',
  stable: 'web:1',
  canary: 'web:2',
  weight: 100,
  step: 0,
  at: 0,
};

/** A workload whose platform moves traffic: every call logged, in order. */
class PlatformWorkload implements Workload {
  readonly engine = 'toy-platform';
  readonly description = 'a service the platform rolls out itself';
  readonly calls: string[] = [];
  /** What the platform holds on the new side. */
  held = 0;

  async preflight(): Promise<void> {}
  async create(): Promise<Sides> {
    return { stable: 'web:1', canary: 'web:2' };
  }
  async waitHealthy(): Promise<void> {}
  subjects() {
    return { canary: {} };
  }
  async promote(): Promise<void> {}
  async reach(weight: number): Promise<Traffic> {
    this.calls.push(`reach ${weight}`);
    this.held = weight;
    return { canary: weight, stable: 100 - weight, detail: 'as the platform holds it' };
  }
  async locate(): Promise<void> {
    this.calls.push('locate');
  }
  async removeNewSide(r: RolloutRecord): Promise<void> {
    this.calls.push(`remove ${r.canary}`);
  }
  async rollback(r: RolloutRecord, _signal?: AbortSignal, onRestored?: () => void): Promise<void> {
    this.calls.push('platform returns traffic');
    this.held = 0;
    onRestored?.();
    await this.removeNewSide(r);
  }
}

const records: RecordStore = {
  async loadRecord() {
    return undefined;
  },
  async saveRecord() {},
};

function build() {
  const workload = new PlatformWorkload();
  const router = ECS_ROUTERS.create<PlatformRouter>(PLATFORM, {
    platform: { platform: 'toy platform', follow: (weight) => workload.reach(weight) },
  });
  return { workload, router, target: composeTarget({ workload, router, records }) };
}

describe('the platform router', () => {
  it('is registered by name, marks itself read-only and waits for the platform on a shift', async () => {
    const { workload, router, target } = build();
    expect(router.kind).toBe('platform');
    expect(router.drivesTraffic).toBe(false);
    expect(ECS_ROUTERS.kinds()).toEqual(expect.arrayContaining(['alb-forward', 'platform']));
    const traffic = await target.shift(25);
    expect(traffic).toMatchObject({ canary: 25, stable: 75 });
    expect(workload.calls).toEqual(['reach 25']);
    // The engine must not compare weights the platform moves on its own with the ones it confirmed.
    expect(target.observe).toBeUndefined();
  });

  it("leaves the rollback to the workload: restored before the new side goes, nothing of the router's", async () => {
    const { workload, target } = build();
    await target.shift(50);
    const order: string[] = [];
    await target.rollback(record, undefined, () => order.push(`restored at ${workload.held}`));
    expect(workload.calls).toEqual(['reach 50', 'platform returns traffic', 'remove web:2']);
    expect(order).toEqual(['restored at 0']);
  });

  it('refuses to restore traffic itself, and to be built without its part of the context', async () => {
    const { router } = build();
    await expect(router.restoreStable(record)).rejects.toThrow(/moves traffic back itself/);
    expect(() => ECS_ROUTERS.create(PLATFORM, {})).toThrow('the platform router was built without its context');
  });
});
