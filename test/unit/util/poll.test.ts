import { describe, expect, it } from '@jest/globals';
import { poll, PollTimeoutError, type PollState } from '../../../src/util/poll.js';
import { FakeClock } from '../../support/fake-clock.js';

describe('poll', () => {
  it('returns the value once the check is done, backing off between looks', async () => {
    const clock = new FakeClock();
    let looks = 0;
    const value = await poll<string>(
      async () => (++looks === 4 ? { done: true, value: 'ready' } : { done: false, status: `look ${looks}` }),
      {
        what: 'the thing',
        timeoutMs: 60_000,
        initialDelayMs: 1000,
        factor: 2,
        jitter: 0,
        clock,
      },
    );
    expect(value).toBe('ready');
    expect(looks).toBe(4);
    expect(clock.sleeps).toEqual([1000, 2000, 4000]);
  });

  it('caps the delay at maxDelayMs', async () => {
    const clock = new FakeClock();
    let looks = 0;
    await poll(async () => (++looks === 6 ? { done: true, value: 1 } : { done: false, status: '' }), {
      what: 'x',
      timeoutMs: 600_000,
      initialDelayMs: 1000,
      factor: 3,
      maxDelayMs: 5000,
      jitter: 0,
      clock,
    });
    expect(clock.sleeps).toEqual([1000, 3000, 5000, 5000, 5000]);
  });

  it('stops at the deadline and says what it waited for and what it last saw', async () => {
    const clock = new FakeClock();
    const check = async (): Promise<PollState<never>> => ({ done: false, status: '1 of 3 tasks running' });
    const error = await poll(check, {
      what: 'service web to become stable',
      timeoutMs: 10_000,
      initialDelayMs: 3000,
      factor: 1,
      jitter: 0,
      clock,
      timeoutHint: 'Raise wait-timeout.',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PollTimeoutError);
    expect((error as Error).message).toBe(
      'Timed out after 10s waiting for service web to become stable. Last seen: 1 of 3 tasks running. Raise wait-timeout.',
    );
    // The last sleep is shortened so the final look happens at the deadline, not after it.
    expect(clock.sleeps).toEqual([3000, 3000, 3000, 1000]);
  });

  it('reports progress after every look that was not done', async () => {
    const clock = new FakeClock();
    const seen: string[] = [];
    let looks = 0;
    await poll(async () => (++looks === 3 ? { done: true, value: 0 } : { done: false, status: `s${looks}` }), {
      what: 'x',
      timeoutMs: 60_000,
      jitter: 0,
      clock,
      onWait: (info) => seen.push(`${info.attempt}:${info.status}`),
    });
    expect(seen).toEqual(['1:s1', '2:s2']);
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    let looks = 0;
    const run = poll(
      async () => {
        if (++looks === 2) controller.abort(new Error('cancelled'));
        return { done: false, status: '' };
      },
      { what: 'x', timeoutMs: 60_000, clock: new FakeClock(), signal: controller.signal },
    );
    await expect(run).rejects.toThrow('cancelled');
    expect(looks).toBe(2);
  });
});
