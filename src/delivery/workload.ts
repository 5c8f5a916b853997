/**
 * A workload: the lifecycle of the two sides of a rollout on one platform (ECS task sets,
 * an ECS service's rolling or native deployment, a GKE Deployment pair, a GKE Deployment's
 * own rolling update), with no say over where traffic goes: that is the `TrafficRouter` it
 * is composed with (compose.ts). Methods that change something are idempotent and work
 * from the record alone, as the engine calls them again after a crash.
 */
import type { Subjects } from '../analysis/types.js';
import type { Observation, RolloutRecord, Sides } from './types.js';

export interface Workload {
  /** Short engine name for logs, outputs and the record, e.g. `ecs-task-set`, `gke-canary`. */
  readonly engine: string;
  /** One line: what is rolled out where. */
  readonly description: string;
  /** Checks everything that can be checked before any change; throws a UserError otherwise. */
  preflight(signal?: AbortSignal): Promise<void>;
  /** Creates the new side with no production traffic and returns both sides' ids. */
  create(deploymentId: string, signal?: AbortSignal): Promise<Sides>;
  /** Waits until the new side is healthy; throws with the reason when it cannot become so. */
  waitHealthy(signal?: AbortSignal): Promise<void>;
  /** Whether the new side could take traffic now (it exists, runs, passes health checks), changing nothing. */
  readiness?(signal?: AbortSignal): Promise<Omit<Observation, 'traffic'>>;
  /** Metric labels of each side, for the analysis. */
  subjects(): Subjects;
  /** Takes up a paused rollout from its record and the live state (resume); changes nothing. */
  adopt?(record: RolloutRecord, signal?: AbortSignal): Promise<void>;
  /** Makes the platform itself hold the canary at a pause; resolves to when it stops holding it, if it does. */
  holdPause?(signal?: AbortSignal): Promise<number | undefined>;
  /** Makes the new side the only one (using its router where traffic must move first). */
  promote(record: RolloutRecord, signal?: AbortSignal): Promise<void>;
  /**
   * Learns the live sides of a recorded rollout before its router restores stable (which
   * side is stable, where its traffic goes). Changes nothing.
   */
  locate?(record: RolloutRecord, signal?: AbortSignal): Promise<void>;
  /** After all traffic is confirmed on stable: removes the new side (and marks it rolled back). */
  removeNewSide(record: RolloutRecord, signal?: AbortSignal): Promise<void>;
  /**
   * Where the platform itself moves traffic back (its router does not drive traffic, e.g.
   * an ECS rolling or native deployment): the whole rollback, in place of locate, the
   * router's restoreStable and removeNewSide. Calls `onRestored` once all traffic is
   * confirmed on stable, before the new side is removed; idempotent, from the record alone.
   */
  rollback?(record: RolloutRecord, signal?: AbortSignal, onRestored?: () => void): Promise<void>;
  /** What the promotion left, when it is more than "the new side takes all traffic, the old one removed". */
  describePromotion?(record: RolloutRecord): string;
  /** Why the new side is unhealthy, for the failure report. */
  diagnose?(signal?: AbortSignal): Promise<string[]>;
}
