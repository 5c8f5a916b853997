import type { Clock } from '../../src/util/clock.js';

/**
 * A clock the test drives: `sleep` resolves at once and moves time forward by the
 * requested amount, so waits and deadlines run instantly and deterministically.
 */
export class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(public time = Date.UTC(2026, 10, 22)) {}
  now(): number {
    return this.time;
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.sleeps.push(ms);
    this.time += ms;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}
