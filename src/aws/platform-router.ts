/**
 * The `platform` traffic router: read-only, for workloads whose platform moves traffic
 * itself (an ECS rolling update replaces every task at once; an ECS native deployment
 * shifts its production listener rule step by step). It never sets a weight: `setWeight`
 * waits, through the workload, until the platform has put that weight on the new side and
 * returns what it read back. The rollback is the workload's own (`Workload.rollback`): the
 * platform returns traffic and removes the new side, so there is nothing for a router to
 * restore.
 */
import type { TrafficRouter } from '../delivery/router.js';
import type { RolloutRecord, Traffic } from '../delivery/types.js';

export const PLATFORM = 'platform';

export interface PlatformRouterContext {
  /** What moves the traffic, for messages, e.g. "ECS rolling update". */
  platform: string;
  /**
   * Waits until the platform holds `weight`% on the new side (moving on whatever holds it
   * short of that, as the workload knows how) and resolves to the traffic read back.
   */
  follow(weight: number, signal?: AbortSignal): Promise<Traffic>;
}

export class PlatformRouter implements TrafficRouter {
  readonly kind = PLATFORM;
  readonly drivesTraffic = false;

  constructor(private readonly context: PlatformRouterContext) {}

  setWeight(weight: number, signal?: AbortSignal): Promise<Traffic> {
    return this.context.follow(weight, signal);
  }

  /** Never called for a workload with its own rollback; reaching it is a programming error. */
  async restoreStable(record: RolloutRecord): Promise<void> {
    throw new Error(
      `the ${this.context.platform} moves traffic back itself, so rollout ${record.id} is undone by its workload's rollback, not by the platform router`,
    );
  }
}
