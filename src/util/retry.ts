import { systemClock, type Clock } from './clock.js';

export interface RetryOptions {
  /** Total attempts, at least 1; Infinity to keep trying until `deadline`. */
  attempts: number;
  /** Clock time (ms) after which no attempt starts; the last delay is cut to end there. */
  deadline?: number;
  /** 'full' (default): a delay anywhere up to the backoff; 'equal': between half of it and all of it. */
  jitter?: 'full' | 'equal';
  /** Whether a failure is worth another attempt. */
  isRetryable: (err: unknown) => boolean;
  /** Delay before the second attempt (ms); doubles each time, with full jitter. Default 500. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  clock?: Clock;
  signal?: AbortSignal;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Calls `fn` until it succeeds, fails with a non-retryable error, runs out of attempts or
 * reaches its deadline; then throws the last error as it was.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const clock = options.clock ?? systemClock;
  const base = options.baseDelayMs ?? 500;
  const max = options.maxDelayMs ?? 20_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const left = options.deadline === undefined ? Infinity : options.deadline - clock.now();
      if (attempt >= options.attempts || left <= 0 || !options.isRetryable(err)) throw err;
      const backoff = Math.min(max, base * 2 ** (attempt - 1));
      const jittered = options.jitter === 'equal' ? backoff * (0.5 + Math.random() / 2) : Math.random() * backoff;
      const delay = Math.min(left, jittered);
      options.onRetry?.(err, attempt, delay);
      await clock.sleep(delay, options.signal);
    }
  }
}
