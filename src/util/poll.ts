import { systemClock, type Clock } from './clock.js';
import { formatDuration } from './duration.js';

/** What one look at the thing being waited for found. */
export type PollState<T> = { done: true; value: T } | { done: false; status: string };

export interface PollOptions {
  /** What is being waited for, as the end of "waiting for ...". */
  what: string;
  /** Give up after this long (ms). */
  timeoutMs: number;
  /** First delay between looks (ms). Default 1000. */
  initialDelayMs?: number;
  /** Longest delay between looks (ms). Default 30000. */
  maxDelayMs?: number;
  /** Growth of the delay per look. Default 1.5. */
  factor?: number;
  /** Spread each delay randomly by up to this fraction (0..1). Default 0.1. */
  jitter?: number;
  clock?: Clock;
  signal?: AbortSignal;
  /** Called after every look that was not done, e.g. to log progress. */
  onWait?: (info: { status: string; attempt: number; elapsedMs: number; nextDelayMs: number }) => void;
  /** Extra advice appended to the timeout message. */
  timeoutHint?: string;
}

/** A wait that ran out of time; says what it waited for and what it last saw. */
export class PollTimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly elapsedMs: number,
    readonly lastStatus: string,
    readonly hint: string | undefined,
  ) {
    super(
      `Timed out after ${formatDuration(elapsedMs)} waiting for ${what}. Last seen: ${lastStatus}.` +
        (hint ? ` ${hint}` : ''),
    );
    this.name = 'PollTimeoutError';
  }
}

/**
 * Looks at something until it is done, with exponential backoff between looks and a
 * hard deadline. The last delay is shortened so the final look happens at the deadline.
 */
export async function poll<T>(check: () => Promise<PollState<T>>, options: PollOptions): Promise<T> {
  const clock = options.clock ?? systemClock;
  const factor = options.factor ?? 1.5;
  const maxDelay = options.maxDelayMs ?? 30_000;
  const jitter = options.jitter ?? 0.1;
  const start = clock.now();
  const deadline = start + options.timeoutMs;
  let delay = options.initialDelayMs ?? 1000;
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    const state = await check();
    if (state.done) return state.value;
    const status = state.status;
    const now = clock.now();
    if (now >= deadline) {
      throw new PollTimeoutError(options.what, now - start, status, options.timeoutHint);
    }
    const spread = 1 + (Math.random() * 2 - 1) * jitter;
    const wait = Math.max(0, Math.min(delay * spread, deadline - now));
    options.onWait?.({ status, attempt, elapsedMs: now - start, nextDelayMs: wait });
    await clock.sleep(wait, options.signal);
    delay = Math.min(delay * factor, maxDelay);
  }
}
