import { describe, expect, it } from '@jest/globals';
import { retry } from '../../../src/util/retry.js';
import { FakeClock } from '../../support/fake-clock.js';

describe('retry', () => {
  it('retries retryable failures until one succeeds', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const result = await retry(
      async () => {
        if (++calls < 3) throw new Error('busy');
        return 'ok';
      },
      { attempts: 5, isRetryable: () => true, clock, baseDelayMs: 100 },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(clock.sleeps).toHaveLength(2);
    expect(clock.sleeps[0]).toBeLessThanOrEqual(100);
    expect(clock.sleeps[1]).toBeLessThanOrEqual(200);
  });

  it('never retries an error that is not retryable', async () => {
    let calls = 0;
    const denied = Object.assign(new Error('denied'), { name: 'AccessDenied' });
    await expect(
      retry(
        async () => {
          calls++;
          throw denied;
        },
        { attempts: 5, isRetryable: (e) => (e as Error).name !== 'AccessDenied', clock: new FakeClock() },
      ),
    ).rejects.toBe(denied);
    expect(calls).toBe(1);
  });

  it('gives up after the last attempt with the last error', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          throw new Error(`failure ${++calls}`);
        },
        { attempts: 3, isRetryable: () => true, clock: new FakeClock() },
      ),
    ).rejects.toThrow('failure 3');
  });

  it('with a deadline, keeps trying past any count and stops once the deadline passes', async () => {
    const clock = new FakeClock();
    const deadline = clock.now() + 30_000;
    let calls = 0;
    const error = await retry(
      async () => {
        throw new Error(`failure ${++calls}`);
      },
      {
        attempts: Infinity,
        deadline,
        isRetryable: () => true,
        clock,
        baseDelayMs: 1000,
        maxDelayMs: 5000,
        jitter: 'equal',
      },
    ).catch((err: unknown) => err);
    expect((error as Error).message).toBe(`failure ${calls}`);
    expect(calls).toBeGreaterThan(6);
    expect(clock.now()).toBe(deadline);
    // Equal jitter: each wait is at least half its backoff; the last one is cut to end at the deadline.
    const waits = clock.sleeps.slice(0, -1);
    waits.forEach((ms, i) => expect(ms).toBeGreaterThanOrEqual(Math.min(5000, 1000 * 2 ** i) / 2));
    waits.forEach((ms) => expect(ms).toBeLessThanOrEqual(5000));
  });

  it('with a deadline already past, makes one attempt and throws its error', async () => {
    const clock = new FakeClock();
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw new Error('refused');
        },
        { attempts: Infinity, deadline: clock.now() - 1, isRetryable: () => true, clock },
      ),
    ).rejects.toThrow('refused');
    expect(calls).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });
});
