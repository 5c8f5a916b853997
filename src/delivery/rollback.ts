/**
 * The contract of a platform's rollback (what the rollback action calls for ECS and GKE):
 * return a service to the version it ran before, by finishing an unfinished rollout from
 * its record, by having the platform take its own rollout back, or by deploying the earlier
 * version again. Nothing here knows a cloud.
 */
import type { Clock } from '../util/clock.js';
import type { RolloutRecord, Target } from './types.js';

export interface RollbackOptions {
  /** Why, for the log (the action puts it in the summary and the GitHub Deployment). */
  reason: string;
  /**
   * Who rolls back, for a live rollout's owner: "the rollback action, run 5555.1 (octocat)".
   * A rollout still being driven is asked to stop first; its owner yields at its next check.
   */
  by?: string;
  /** Longest wait for the service to be back on the old version. */
  waitTimeoutMs: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
  clock?: Clock;
  /**
   * Called once, right before the first change (never when there is nothing to do), with
   * the service's name: the action marks the undone GitHub Deployment failed at that moment,
   * so time to restore is counted from it.
   */
  beforeChange?: (service: string) => Promise<void>;
}

export interface RollbackOutcome {
  status: 'rolled-back' | 'nothing-to-do';
  /** What the service runs now: a task definition ARN, a Deployment revision. */
  rolledBackTo: string;
  /** What it ran before the rollback, when known. */
  from?: string;
  /** From the first change until all traffic was back on the old version; 0 with nothing to do. */
  recoveryMs: number;
  /** What was done, in order, one sentence each (log and summary). */
  actions: string[];
  /** The service or Deployment, as the GitHub Deployment payload names it. */
  service: string;
  /** Where, for the summary title: "mcp-proxy on platform (ECS)". */
  where: string;
  /** The engine that did the work (the record's, or the one fitting the service). */
  engine: string;
  /** The primary container's image of what runs now, when known. */
  image?: string;
}

/**
 * Times a rollback as time to restore: from its first change (right after `beforeChange`)
 * until all traffic is back on the old version; 0 when nothing was changed.
 */
export class RecoveryTimer {
  private startedAt: number | undefined;
  private restoredAt: number | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly service: string,
    private readonly beforeChange?: (service: string) => Promise<void>,
  ) {}

  /** Before each change; only the first one counts. */
  async begin(): Promise<void> {
    if (this.startedAt !== undefined) return;
    await this.beforeChange?.(this.service);
    this.startedAt = this.clock.now();
  }

  /** When traffic is back on the old version; only the first time counts. Pass as `onRestored`. */
  readonly restored = (): void => {
    this.restoredAt ??= this.clock.now();
  };

  /** Traffic went forward again after all (a promotion finished instead): wait for a later restore. */
  forgetRestore(): void {
    this.restoredAt = undefined;
  }

  get changed(): boolean {
    return this.startedAt !== undefined;
  }

  get isRestored(): boolean {
    return this.restoredAt !== undefined;
  }

  /** From the first change until the restore (or now, when nothing reported it). */
  recoveryMs(): number {
    return this.startedAt === undefined ? 0 : (this.restoredAt ?? this.clock.now()) - this.startedAt;
  }
}

/**
 * Asks the rollout a record describes to stop before it is undone, so that an owner still
 * driving it yields instead of shifting on; harmless when the owner is gone. A failure to
 * ask does not stop the restore.
 */
export async function askToStop(
  target: Target,
  record: RolloutRecord,
  options: { by?: string; clock: Clock; signal?: AbortSignal; log: (line: string) => void },
): Promise<void> {
  if (!target.requestAbort) return;
  const by = options.by ?? 'the rollback action';
  try {
    await target.requestAbort({ id: record.id, by, at: Math.floor(options.clock.now() / 1000) }, options.signal);
    options.log(
      `Asked rollout ${record.id} to stop (${by}): a run still driving it yields at its next check, without touching traffic.`,
    );
  } catch (err) {
    options.log(
      `Could not ask rollout ${record.id} to stop (${err instanceof Error ? err.message : String(err)}); restoring stable anyway.`,
    );
  }
}
