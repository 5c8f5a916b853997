import { describe, expect, it } from '@jest/globals';
import { RecoveryTimer } from '../../../src/delivery/rollback.js';
import { FakeClock } from '../../support/fake-clock.js';

describe('RecoveryTimer', () => {
  it('counts from the first change, after beforeChange ran once, to the first restore', async () => {
    const clock = new FakeClock();
    const calls: string[] = [];
    const timer = new RecoveryTimer(clock, 'open-webui', async (service) => {
      calls.push(service);
      clock.advance(500); // marking the undone deployment takes time, which is not recovery
    });
    expect(timer.changed).toBe(false);
    expect(timer.recoveryMs()).toBe(0);

    await timer.begin();
    clock.advance(1000);
    await timer.begin();
    clock.advance(2000);
    timer.restored();
    clock.advance(4000);
    timer.restored();

    expect(calls).toEqual(['open-webui']);
    expect(timer.changed).toBe(true);
    expect(timer.isRestored).toBe(true);
    expect(timer.recoveryMs()).toBe(3000);
  });

  it('waits for a later restore after forgetRestore, and counts to now when none came', async () => {
    const clock = new FakeClock();
    const timer = new RecoveryTimer(clock, 'web');
    await timer.begin();
    clock.advance(1000);
    timer.restored();
    timer.forgetRestore();
    expect(timer.isRestored).toBe(false);
    clock.advance(2000);
    expect(timer.recoveryMs()).toBe(3000);
    timer.restored();
    clock.advance(5000);
    expect(timer.recoveryMs()).toBe(3000);
  });
});
