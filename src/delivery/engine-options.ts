/** What a rollout is run with (runRollout's options). */
import type { Analysis } from '../analysis/types.js';
import type { Clock } from '../util/clock.js';
import type { RolloutPlan, RolloutRecord, Target, TimelineEvent } from './types.js';

export interface RolloutOptions {
  target: Target;
  plan: RolloutPlan;
  /** Judges each bake; without it a bake only waits. */
  analysis?: Analysis;
  deploymentId: string;
  /** Roll back when a check fails or the new version is unhealthy. Default true. */
  rollbackOnFailure?: boolean;
  /** The GitHub run, written into the record (the post step only recovers its own run's rollouts). */
  runId?: string;
  clock?: Clock;
  /** Aborts when the job is cancelled: the engine then rolls back within `cancelGraceMs`. */
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Called with every timeline event as it happens. */
  onEvent?: (event: TimelineEvent) => void;
  /**
   * How long a rollback may still take once the job is cancelled. The runner sends SIGINT,
   * SIGTERM 7.5 s later and kills 2.5 s after that. Default 6 s.
   */
  cancelGraceMs?: number;
  /** Longest a rollback may take otherwise (it is retried until it holds or this passes). Default 10 minutes. */
  rollbackTimeoutMs?: number;
  /**
   * How often the owner renews its lease and checks that nobody else acted, while it waits
   * or bakes. Default the analysis interval, at most 30 s; 0 turns the heartbeat off.
   */
  heartbeatMs?: number;
  /** How long each renewal of the lease lasts. Default 3 heartbeats, at least 2 minutes. */
  leaseMs?: number;
  /** Whether the run of another rollout's record is still going (GitHub); undefined when it cannot tell. */
  ownerAlive?: (record: RolloutRecord) => Promise<boolean | undefined>;
  /** How long a paused rollout waits for a resume (its record's `pauseUntil`). Default 24 hours. */
  pauseTimeoutMs?: number;
  /** The GitHub Deployment that records this rollout, kept in the record for a resuming job. */
  githubDeployment?: number;
  /**
   * Resume the paused rollout on the target instead of starting one: nothing is created;
   * the remaining steps of `plan` after the paused one run, each judged, then promotion.
   * `deploymentId` is ignored (the rollout keeps its id).
   */
  resume?: ResumeOptions;
}

export interface ResumeOptions {
  /**
   * Checks that the paused canary is what this job was asked to resume (its image or task
   * definition), after the target adopted it; throws a UserError naming both otherwise.
   */
  verify?: (record: RolloutRecord, signal?: AbortSignal) => Promise<void>;
}

/** Default time a paused canary waits for a resume: 24 hours. */
export const DEFAULT_PAUSE_TIMEOUT_MS = 24 * 3_600_000;
