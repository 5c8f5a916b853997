/** The timeline of one rollout: every event in order, each also logged and passed to the caller as it happens. */
import type { Clock } from '../util/clock.js';
import type { TimelineEvent, TimelineKind } from './types.js';

export class Timeline {
  readonly events: TimelineEvent[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly log: (line: string) => void,
    private readonly onEvent?: (event: TimelineEvent) => void,
  ) {}

  add(kind: TimelineKind, message: string, weight?: number): void {
    const e: TimelineEvent = { at: this.clock.now(), kind, message, ...(weight !== undefined ? { weight } : {}) };
    this.events.push(e);
    this.log(message);
    this.onEvent?.(e);
  }
}
