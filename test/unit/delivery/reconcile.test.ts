import { describe, expect, it } from '@jest/globals';
import { decide } from '../../../src/delivery/reconcile.js';
import type { RolloutRecord } from '../../../src/delivery/types.js';

const NOW = 1_764_000_000_000;
const record = (changes: Partial<RolloutRecord> = {}): RolloutRecord => ({
  id: '4242.1-a',
  engine: 'ecs-task-set',
  phase: 'shifting',
  stable: 'ecs-svc/1',
  canary: 'ecs-svc/2',
  weight: 10,
  step: 0,
  at: NOW / 1000 - 600,
  run: '4242.1',
  lease: NOW / 1000 - 300,
  ...changes,
});
const dead = { alive: false as const, why: 'GitHub reports run 4242.1 as finished' };
const alive = { alive: true as const, why: 'its lease runs for another 2m' };

describe('reconcile: what to do about each finding', () => {
  it('never acts on state that failed validation', () => {
    expect(
      decide({
        found: { problem: 'its stable side ecs-svc/9 is not a task set of this service' },
        owner: dead,
        now: NOW,
      }),
    ).toMatchObject({ action: 'report', why: expect.stringContaining('Not acted on') });
  });

  it('leaves a live owner alone and says why', () => {
    expect(decide({ found: { record: record() }, owner: alive, now: NOW })).toEqual({
      action: 'leave',
      why: 'Its owner is still driving it: its lease runs for another 2m.',
    });
  });

  it("rolls back a dead owner's rollout, promotes a dead owner's promotion, and dates the death", () => {
    expect(decide({ found: { record: record() }, owner: dead, ownerEndedAt: NOW - 60_000, now: NOW })).toMatchObject({
      action: 'roll-back',
      ownerGoneAt: NOW - 60_000,
    });
    expect(decide({ found: { record: record({ phase: 'rolling-back' }) }, owner: dead, now: NOW })).toMatchObject({
      action: 'roll-back',
      ownerGoneAt: NOW - 300_000,
    });
    expect(decide({ found: { record: record({ phase: 'promoting' }) }, owner: dead, now: NOW })).toMatchObject({
      action: 'promote',
    });
  });

  it('only reports a held record, or one whose owner cannot be judged', () => {
    expect(decide({ found: { record: record({ phase: 'held' }) }, owner: dead, now: NOW }).action).toBe('report');
    expect(decide({ found: { record: record() }, now: NOW }).action).toBe('report');
  });

  it('rolls back a pause past its deadline and judges one within it, whatever its run', () => {
    expect(
      decide({ found: { record: record({ phase: 'paused', pauseUntil: NOW / 1000 - 1 }) }, now: NOW }),
    ).toMatchObject({ action: 'roll-back', why: expect.stringContaining('nobody resumed it') });
    expect(
      decide({ found: { record: record({ phase: 'paused', pauseUntil: NOW / 1000 + 3600 }) }, owner: alive, now: NOW })
        .action,
    ).toBe('judge');
  });

  it('retires a blue kept past its deadline and leaves one within it', () => {
    expect(decide({ found: { kept: { id: 'x', until: NOW / 1000 - 10 } }, now: NOW }).action).toBe('retire');
    expect(decide({ found: { kept: { id: 'x', until: NOW / 1000 + 10 } }, now: NOW }).action).toBe('leave');
  });
});
