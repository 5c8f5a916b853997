/** The owner's heartbeat: renews its lease and looks again, on its own clock, until stopped. */
import type { Clock } from '../util/clock.js';

/** A heartbeat that calls `beat` every `everyMs` until stopped or the signal aborts; 0 turns it off. */
export function startHeartbeat(
  everyMs: number,
  clock: Clock,
  signal: AbortSignal,
  beat: () => Promise<void>,
): { stop(): void } {
  if (everyMs <= 0) return { stop: () => undefined };
  const stopped = new AbortController();
  const both = AbortSignal.any([signal, stopped.signal]);
  void (async () => {
    for (;;) {
      try {
        await clock.sleep(everyMs, both);
      } catch {
        return;
      }
      if (both.aborted) return;
      await beat();
    }
  })();
  return { stop: () => stopped.abort() };
}
