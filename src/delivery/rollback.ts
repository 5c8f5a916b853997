/**
 * The contract of a platform's rollback (what the rollback action calls for ECS and GKE):
 * return a service to the version it ran before, by finishing an unfinished rollout from
 * its record, by having the platform take its own rollout back, or by deploying the earlier
 * version again. Nothing here knows a cloud.
 */
import type { Clock } from '../util/clock.js';

export interface RollbackOptions {
  /** Why, for the log (the action puts it in the summary and the GitHub Deployment). */
  reason: string;
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
