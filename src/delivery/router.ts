/**
 * A traffic router: one mechanism that splits traffic between the stable and the new side
 * (an ALB listener's weighted forward, HTTPRoute backend weights, a Service's selector, a
 * replica ratio), or reads what the platform itself does with traffic (ECS rolling and
 * native deployments). Like Argo Rollouts' traffic-router plugins, it knows nothing of how
 * the sides are created, promoted or removed: that is the `Workload`.
 *
 * Every method is idempotent and safe to call again from a fresh process: the engine calls
 * them again after a crash, and retries `restoreStable` until it holds.
 */
import type { RolloutRecord, Traffic } from './types.js';

export interface TrafficRouter {
  /** The registry name of the mechanism, e.g. `alb-forward`, `http-route`, `platform`. */
  readonly kind: string;
  /**
   * False where the platform moves traffic on its own (ECS rolling, ECS native): then
   * `setWeight` waits for the platform to reach the weight instead of setting it.
   */
  readonly drivesTraffic: boolean;
  /**
   * Puts `weight`% on the new side in one change and resolves once reading it back shows
   * exactly that (the engine's confirmation before a bake starts).
   */
  setWeight(weight: number, signal?: AbortSignal): Promise<Traffic>;
  /**
   * Where traffic goes now, changing nothing; undefined when this router cannot tell yet
   * (before preflight) or the platform keeps no weights. The engine compares it with what
   * it confirmed last: a difference means someone else moved the weights.
   */
  readWeight?(signal?: AbortSignal): Promise<Traffic | undefined>;
  /**
   * The rollback's one change: every request of the recorded rollout to its stable side,
   * confirmed by reading it back. Works from the record alone.
   */
  restoreStable(record: RolloutRecord, signal?: AbortSignal): Promise<void>;
}
